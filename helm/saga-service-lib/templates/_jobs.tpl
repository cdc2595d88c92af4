{{/* (dict "ctx" $ctx "name" "migrate" "weight" "0" "command" (list ...)): a hook Job that runs
one management command before the release's pods start or change, so that a new image never
runs against an old schema and workers never subscribe to missing topics. */}}
{{- define "saga-service-lib.hookJob" -}}
{{- $ctx := .ctx }}
{{- $component := dict "ctx" $ctx "component" .name }}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ include "saga-service-lib.fullname" $ctx }}-{{ .name }}
  labels:
    {{- include "saga-service-lib.labels" $component | nindent 4 }}
  annotations:
    {{- include "saga-service-lib.hookAnnotations" .weight | nindent 4 }}
spec:
  backoffLimit: {{ $ctx.Values.jobs.backoffLimit }}
  activeDeadlineSeconds: {{ $ctx.Values.jobs.activeDeadlineSeconds }}
  template:
    metadata:
      labels:
        {{- include "saga-service-lib.labels" $component | nindent 8 }}
    spec:
      restartPolicy: Never
      # The release's ServiceAccount does not exist yet at pre-install; no token is mounted.
      {{- include "saga-service-lib.podSpecCommon" $ctx | nindent 6 }}
      containers:
        - name: {{ .name }}
          image: {{ include "saga-service-lib.image" $ctx }}
          imagePullPolicy: {{ $ctx.Values.image.pullPolicy }}
          command:
            {{- toYaml .command | nindent 12 }}
          envFrom:
            {{- include "saga-service-lib.envFrom" (dict "ctx" $ctx "hook" true) | nindent 12 }}
          env:
            {{- include "saga-service-lib.env" $ctx | nindent 12 }}
          resources:
            {{- toYaml $ctx.Values.jobs.resources | nindent 12 }}
          securityContext:
            {{- include "saga-service-lib.containerSecurityContext" $ctx | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
{{- end -}}

{{- define "saga-service-lib.jobs" -}}
{{- include "saga-service-lib.configmap" (dict "ctx" . "hook" true) }}
{{- include "saga-service-lib.secret" (dict "ctx" . "hook" true) }}
{{- include "saga-service-lib.hookJob" (dict "ctx" . "name" "migrate" "weight" "0" "command" (list "python" "manage.py" "migrate" "--noinput")) }}
{{- if .Values.kafka.createTopics }}
{{- include "saga-service-lib.hookJob" (dict "ctx" . "name" "topics" "weight" "5" "command" (list "python" "manage.py" "create_topics")) }}
{{- end }}
{{- end -}}
