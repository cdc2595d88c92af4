{{/* The saga worker: manage.py consume_saga, with /health and /metrics on the worker port. */}}
{{- define "saga-service-lib.worker" -}}
{{- $component := dict "ctx" . "component" "worker" }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "saga-service-lib.fullname" . }}-worker
  labels:
    {{- include "saga-service-lib.labels" $component | nindent 4 }}
spec:
  {{- if not .Values.worker.autoscaling.enabled }}
  replicas: {{ .Values.worker.replicas }}
  {{- end }}
  revisionHistoryLimit: 3
  selector:
    matchLabels:
      {{- include "saga-service-lib.selectorLabels" $component | nindent 6 }}
  # Never a surge: one consumer more than there are partitions gets none, so with replicas at
  # the partition count a surge pod would never turn ready and the rollout would stall.
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 0
      maxUnavailable: 1
  template:
    metadata:
      {{- include "saga-service-lib.podMetadata" $component | nindent 6 }}
    spec:
      serviceAccountName: {{ include "saga-service-lib.serviceAccountName" . }}
      terminationGracePeriodSeconds: {{ .Values.worker.terminationGracePeriodSeconds }}
      {{- include "saga-service-lib.podSpecCommon" . | nindent 6 }}
      containers:
        - name: worker
          image: {{ include "saga-service-lib.image" . }}
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          command: ["python", "manage.py", "consume_saga"]
          ports:
            - name: health
              containerPort: {{ .Values.service.workerPort }}
              protocol: TCP
          envFrom:
            {{- include "saga-service-lib.envFrom" (dict "ctx" . "hook" false) | nindent 12 }}
          env:
            {{- include "saga-service-lib.env" . | nindent 12 }}
          startupProbe:
            httpGet: {path: /health/live, port: health}
            periodSeconds: 5
            failureThreshold: 24
          # Live: the consumer loop came round within the last minute.
          livenessProbe:
            httpGet: {path: /health/live, port: health}
            periodSeconds: 15
            timeoutSeconds: 5
            failureThreshold: 4
          # Ready: database and broker answer and the consumer owns partitions.
          readinessProbe:
            httpGet: {path: /health/ready, port: health}
            periodSeconds: 10
            timeoutSeconds: 5
            failureThreshold: 3
          resources:
            {{- toYaml .Values.worker.resources | nindent 12 }}
          securityContext:
            {{- include "saga-service-lib.containerSecurityContext" . | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
{{- end -}}
