{{/* (dict "ctx" $ctx "component" "web"|"worker" "target" deployment-name "spec" .Values.web|worker) */}}
{{- define "saga-service-lib.hpa" -}}
{{- if .spec.autoscaling.enabled }}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ .target }}
  labels:
    {{- include "saga-service-lib.labels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ .target }}
  minReplicas: {{ .spec.autoscaling.minReplicas }}
  maxReplicas: {{ .spec.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ .spec.autoscaling.targetCPUUtilizationPercentage }}
{{- end }}
{{- end -}}

{{/* minAvailable when set (null it to use maxUnavailable instead). */}}
{{- define "saga-service-lib.pdb" -}}
{{- if .spec.pdb.enabled }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ .target }}
  labels:
    {{- include "saga-service-lib.labels" . | nindent 4 }}
spec:
  {{- if not (kindIs "invalid" .spec.pdb.minAvailable) }}
  minAvailable: {{ .spec.pdb.minAvailable }}
  {{- else }}
  maxUnavailable: {{ .spec.pdb.maxUnavailable }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "saga-service-lib.selectorLabels" . | nindent 6 }}
{{- end }}
{{- end -}}
