{{/*
Everything a saga service deploys. A service chart's only template is

  {{ include "saga-service-lib.all" . }}

Its values are merged over this library's values.yaml (see there for every setting).
*/}}
{{- define "saga-service-lib.all" -}}
{{- $values := deepCopy (index .Values "saga-service-lib") -}}
{{- include "saga-service-lib.merge" (list $values (omit .Values "saga-service-lib" "global")) -}}
{{- $ctx := dict "Values" $values "Release" .Release "Chart" .Chart "Capabilities" .Capabilities "Template" .Template -}}
{{- include "saga-service-lib.validate" $ctx -}}
{{- $name := include "saga-service-lib.fullname" $ctx -}}
{{- include "saga-service-lib.serviceaccount" $ctx }}
{{- include "saga-service-lib.configmap" (dict "ctx" $ctx "hook" false) }}
{{- include "saga-service-lib.secret" (dict "ctx" $ctx "hook" false) }}
{{- include "saga-service-lib.jobs" $ctx }}
{{- include "saga-service-lib.web" $ctx }}
{{- include "saga-service-lib.hpa" (dict "ctx" $ctx "component" "web" "target" $name "spec" $values.web) }}
{{- include "saga-service-lib.pdb" (dict "ctx" $ctx "component" "web" "target" $name "spec" $values.web) }}
{{- include "saga-service-lib.worker" $ctx }}
{{- include "saga-service-lib.hpa" (dict "ctx" $ctx "component" "worker" "target" (printf "%s-worker" $name) "spec" $values.worker) }}
{{- include "saga-service-lib.pdb" (dict "ctx" $ctx "component" "worker" "target" (printf "%s-worker" $name) "spec" $values.worker) }}
{{- end -}}
