{{/*
Helpers of the saga service charts. Every template here is called with the merged context that
"saga-service-lib.all" builds: .Values are the library defaults with the service chart's values
merged over them.
*/}}

{{/* Merge (list DST SRC): SRC into DST, key by key, in place. Unlike sprig's merge functions,
a false, 0 or "" in SRC overrides DST (mergo treats those as empty and keeps DST's value). */}}
{{- define "saga-service-lib.merge" -}}
{{- $dst := index . 0 -}}
{{- range $key, $value := index . 1 -}}
{{- if and (kindIs "map" $value) (kindIs "map" (index $dst $key)) -}}
{{- include "saga-service-lib.merge" (list (index $dst $key) $value) -}}
{{- else -}}
{{- $_ := set $dst $key $value -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Room for the longest suffix ("-worker", "-migrate") within the 63 characters of a name. */}}
{{- define "saga-service-lib.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 55 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 55 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "saga-service-lib.selectorLabels" -}}
app.kubernetes.io/name: {{ .ctx.Chart.Name }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* (dict "ctx" $ctx "component" "web") */}}
{{- define "saga-service-lib.labels" -}}
{{ include "saga-service-lib.selectorLabels" . }}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version | replace "+" "_" }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: saga
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
{{- end -}}

{{- define "saga-service-lib.image" -}}
{{- $repository := required "image.repository is required (the service's image, e.g. registry.example.com/saga/order-service)" .Values.image.repository -}}
{{- printf "%s:%s" $repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{- define "saga-service-lib.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- .Values.serviceAccount.name | default (include "saga-service-lib.fullname" .) -}}
{{- else -}}
{{- .Values.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{- define "saga-service-lib.secretName" -}}
{{- .Values.secrets.existingSecret | default (include "saga-service-lib.fullname" .) -}}
{{- end -}}

{{/* Fails the rendering on values that would deploy a broken or unsafe service. */}}
{{- define "saga-service-lib.validate" -}}
{{- range $key := list "name" "port" "workerPort" -}}
{{- if not (index $.Values.service $key) -}}
{{- fail (printf "service.%s is required (set by the service chart)" $key) -}}
{{- end -}}
{{- end -}}
{{- $partitions := int .Values.kafka.partitions -}}
{{- if lt $partitions 1 -}}
{{- fail "kafka.partitions must be at least 1" -}}
{{- end -}}
{{- if gt (int .Values.worker.replicas) $partitions -}}
{{- fail (printf "worker.replicas (%d) exceeds kafka.partitions (%d): a consumer group gives each partition to one worker, the others would sit idle and never become ready" (int .Values.worker.replicas) $partitions) -}}
{{- end -}}
{{- if and .Values.worker.autoscaling.enabled (gt (int .Values.worker.autoscaling.maxReplicas) $partitions) -}}
{{- fail (printf "worker.autoscaling.maxReplicas (%d) exceeds kafka.partitions (%d): a consumer group gives each partition to one worker, the others would sit idle and never become ready" (int .Values.worker.autoscaling.maxReplicas) $partitions) -}}
{{- end -}}
{{- if not .Values.secrets.existingSecret -}}
{{- $_ := required "secrets.databaseUrl is required (postgres://user:password@host:5432/name), or set secrets.existingSecret" .Values.secrets.databaseUrl -}}
{{- $key := required "secrets.djangoSecretKey is required (a random value of at least 50 characters), or set secrets.existingSecret" .Values.secrets.djangoSecretKey -}}
{{- if or (lt (len $key) 50) (hasPrefix "django-insecure" $key) -}}
{{- fail "secrets.djangoSecretKey must be a random value of at least 50 characters, not a django-insecure development key: production settings refuse anything else" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "saga-service-lib.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "saga-service-lib.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
{{- end -}}

{{/* (dict "ctx" $ctx "hook" bool): the environment of every container; the hook Jobs read the
hook copies of the ConfigMap and Secret, which exist before the release's own resources do. */}}
{{- define "saga-service-lib.envFrom" -}}
{{- $name := include "saga-service-lib.fullname" .ctx -}}
- configMapRef:
    name: {{ .hook | ternary (printf "%s-hooks" $name) $name }}
- secretRef:
    name: {{ if .ctx.Values.secrets.existingSecret }}{{ .ctx.Values.secrets.existingSecret }}{{ else }}{{ .hook | ternary (printf "%s-hooks" $name) $name }}{{ end }}
{{- end -}}

{{/* The pod's IP joins the allowed hosts, so that a scraper reaching /metrics by pod IP is not
answered 400 by Django's host check ($(POD_IP) is Kubernetes' own dependent-variable syntax). */}}
{{- define "saga-service-lib.env" -}}
- name: POD_IP
  valueFrom:
    fieldRef:
      fieldPath: status.podIP
- name: DJANGO_ALLOWED_HOSTS
  value: {{ printf "%s,$(POD_IP)" .Values.django.allowedHosts | quote }}
{{- end -}}

{{- define "saga-service-lib.podSpecCommon" -}}
automountServiceAccountToken: false
securityContext:
  {{- include "saga-service-lib.podSecurityContext" . | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
volumes:
  # The root filesystem is read-only; gunicorn's worker heartbeats and Python's tempfiles need /tmp.
  - name: tmp
    emptyDir:
      medium: Memory
      sizeLimit: 64Mi
{{- end -}}

{{/* (dict "ctx" $ctx "component" "web"): pod template metadata. The checksums roll the pods
when their configuration changes. */}}
{{- define "saga-service-lib.podMetadata" -}}
labels:
  {{- include "saga-service-lib.labels" . | nindent 2 }}
  {{- with .ctx.Values.podLabels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
annotations:
  checksum/config: {{ include "saga-service-lib.configData" .ctx | sha256sum }}
  {{- if not .ctx.Values.secrets.existingSecret }}
  checksum/secret: {{ include "saga-service-lib.secretData" .ctx | sha256sum }}
  {{- end }}
  {{- with .ctx.Values.podAnnotations }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end -}}
