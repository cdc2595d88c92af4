{{/* The pods need no Kubernetes API access: the account exists so that none of them runs as
the namespace's default account, and it mounts no token. */}}
{{- define "saga-service-lib.serviceaccount" -}}
{{- if .Values.serviceAccount.create }}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "saga-service-lib.serviceAccountName" . }}
  labels:
    {{- include "saga-service-lib.labels" (dict "ctx" . "component" "config") | nindent 4 }}
  {{- with .Values.serviceAccount.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
automountServiceAccountToken: false
{{- end }}
{{- end -}}
