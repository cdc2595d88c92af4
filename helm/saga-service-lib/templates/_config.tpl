{{/* The environment of every process of the service, except the secrets (see _secret.tpl) and
DJANGO_ALLOWED_HOSTS (set per container, with the pod's IP). Values are strings, as env is. */}}
{{- define "saga-service-lib.configData" -}}
{{- $v := .Values -}}
DJANGO_SETTINGS_MODULE: config.settings.production
DJANGO_SECURE_COOKIES: {{ $v.django.secureCookies | toString | quote }}
DJANGO_CSRF_TRUSTED_ORIGINS: {{ $v.django.csrfTrustedOrigins | quote }}
LOG_LEVEL: {{ $v.django.logLevel | quote }}
PORT: {{ $v.service.port | toString | quote }}
GUNICORN_WORKERS: {{ $v.web.gunicorn.workers | toString | quote }}
GUNICORN_THREADS: {{ $v.web.gunicorn.threads | toString | quote }}
KAFKA_BOOTSTRAP_SERVERS: {{ $v.kafka.bootstrapServers | quote }}
SAGA_TOPIC_PREFIX: {{ $v.kafka.topicPrefix | quote }}
SAGA_TOPIC_PARTITIONS: {{ $v.kafka.partitions | toString | quote }}
SAGA_TOPIC_REPLICATION: {{ $v.kafka.replication | toString | quote }}
SAGA_WORKER_PORT: {{ $v.service.workerPort | toString | quote }}
TRACING_ENABLED: {{ $v.tracing.enabled | toString | quote }}
ZIPKIN_ENDPOINT: {{ $v.tracing.zipkinEndpoint | quote }}
TRACING_SAMPLE_RATIO: {{ $v.tracing.sampleRatio | toString | quote }}
OTEL_SERVICE_NAME: {{ printf "%s-service" $v.service.name | quote }}
{{- range $name, $value := $v.env }}
{{ $name }}: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{/* (dict "ctx" $ctx "hook" bool) */}}
{{- define "saga-service-lib.configmap" -}}
{{- $name := include "saga-service-lib.fullname" .ctx }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .hook | ternary (printf "%s-hooks" $name) $name }}
  labels:
    {{- include "saga-service-lib.labels" (dict "ctx" .ctx "component" (.hook | ternary "hooks" "config")) | nindent 4 }}
  {{- if .hook }}
  annotations:
    {{- include "saga-service-lib.hookAnnotations" "-10" | nindent 4 }}
  {{- end }}
data:
  {{- include "saga-service-lib.configData" .ctx | nindent 2 }}
{{- end -}}

{{/* Hook resources run before the release's own ones exist; they are deleted once every hook
succeeded, and kept after a failure (for its logs) until the next attempt replaces them. */}}
{{- define "saga-service-lib.hookAnnotations" -}}
helm.sh/hook: pre-install,pre-upgrade
helm.sh/hook-weight: {{ . | quote }}
helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
{{- end -}}
