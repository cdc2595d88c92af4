{{/* The web process: gunicorn (the image's default command) behind a ClusterIP Service. */}}
{{- define "saga-service-lib.web" -}}
{{- $component := dict "ctx" . "component" "web" }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "saga-service-lib.fullname" . }}
  labels:
    {{- include "saga-service-lib.labels" $component | nindent 4 }}
spec:
  {{- if not .Values.web.autoscaling.enabled }}
  replicas: {{ .Values.web.replicas }}
  {{- end }}
  revisionHistoryLimit: 3
  selector:
    matchLabels:
      {{- include "saga-service-lib.selectorLabels" $component | nindent 6 }}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 25%
      maxUnavailable: 0
  template:
    metadata:
      {{- include "saga-service-lib.podMetadata" $component | nindent 6 }}
    spec:
      serviceAccountName: {{ include "saga-service-lib.serviceAccountName" . }}
      terminationGracePeriodSeconds: {{ .Values.web.terminationGracePeriodSeconds }}
      {{- include "saga-service-lib.podSpecCommon" . | nindent 6 }}
      containers:
        - name: web
          image: {{ include "saga-service-lib.image" . }}
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          # Until the endpoint is gone everywhere, new requests may still arrive: keep taking
          # them for 5 s before gunicorn gets SIGTERM and stops accepting.
          lifecycle:
            preStop:
              exec: {command: [sleep, "5"]}
          ports:
            - name: http
              containerPort: {{ .Values.service.port }}
              protocol: TCP
          envFrom:
            {{- include "saga-service-lib.envFrom" (dict "ctx" . "hook" false) | nindent 12 }}
          env:
            {{- include "saga-service-lib.env" . | nindent 12 }}
          # Host: localhost, which the allowed hosts always hold: the kubelet would send the
          # pod's IP, which Django rejects on IPv6 clusters (it would need brackets).
          startupProbe:
            httpGet: {path: /health/live, port: http, httpHeaders: [{name: Host, value: localhost}]}
            periodSeconds: 2
            failureThreshold: 30
          livenessProbe:
            httpGet: {path: /health/live, port: http, httpHeaders: [{name: Host, value: localhost}]}
            periodSeconds: 10
            timeoutSeconds: 3
            failureThreshold: 3
          readinessProbe:
            httpGet: {path: /health/ready, port: http, httpHeaders: [{name: Host, value: localhost}]}
            periodSeconds: 10
            timeoutSeconds: 3
            failureThreshold: 3
          resources:
            {{- toYaml .Values.web.resources | nindent 12 }}
          securityContext:
            {{- include "saga-service-lib.containerSecurityContext" . | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
---
apiVersion: v1
kind: Service
metadata:
  name: {{ include "saga-service-lib.fullname" . }}
  labels:
    {{- include "saga-service-lib.labels" $component | nindent 4 }}
spec:
  type: {{ .Values.service.type }}
  selector:
    {{- include "saga-service-lib.selectorLabels" $component | nindent 4 }}
  ports:
    - name: http
      port: {{ .Values.service.servicePort }}
      targetPort: http
      protocol: TCP
{{- end -}}
