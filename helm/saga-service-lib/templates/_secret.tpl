{{- define "saga-service-lib.secretData" -}}
DATABASE_URL: {{ .Values.secrets.databaseUrl | b64enc | quote }}
DJANGO_SECRET_KEY: {{ .Values.secrets.djangoSecretKey | b64enc | quote }}
{{- end -}}

{{/* (dict "ctx" $ctx "hook" bool). Nothing when secrets.existingSecret names a Secret made
elsewhere (sealed-secrets, external-secrets, by hand), which must hold the same two keys. */}}
{{- define "saga-service-lib.secret" -}}
{{- if not .ctx.Values.secrets.existingSecret }}
{{- $name := include "saga-service-lib.fullname" .ctx }}
---
apiVersion: v1
kind: Secret
metadata:
  name: {{ .hook | ternary (printf "%s-hooks" $name) $name }}
  labels:
    {{- include "saga-service-lib.labels" (dict "ctx" .ctx "component" (.hook | ternary "hooks" "config")) | nindent 4 }}
  {{- if .hook }}
  annotations:
    {{- include "saga-service-lib.hookAnnotations" "-10" | nindent 4 }}
  {{- end }}
type: Opaque
data:
  {{- include "saga-service-lib.secretData" .ctx | nindent 2 }}
{{- end }}
{{- end -}}
