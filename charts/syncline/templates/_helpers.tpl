{{/* Labels every object of the chart carries. */}}
{{- define "syncline.labels" -}}
app.kubernetes.io/name: syncline
app.kubernetes.io/component: operator
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* What the Deployment selects: stable across upgrades. */}}
{{- define "syncline.selector" -}}
app.kubernetes.io/name: syncline
app.kubernetes.io/component: operator
{{- end -}}

{{- define "syncline.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* The bundled Redis (redis.enabled). */}}
{{- define "syncline.redisSelector" -}}
app.kubernetes.io/name: syncline
app.kubernetes.io/component: redis
{{- end -}}

{{- define "syncline.redisLabels" -}}
{{ include "syncline.redisSelector" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The leader election Lease: the chart makes it (lease.yaml) and tells the operator its name. */}}
{{- define "syncline.leaseName" -}}
syncline-operator
{{- end -}}

{{/* "true" when the Prometheus Operator objects render: monitoring.enabled true, or auto
and the cluster serves monitoring.coreos.com/v1 (helm template: --api-versions). */}}
{{- define "syncline.monitoring" -}}
{{- $on := toString .Values.monitoring.enabled -}}
{{- if or (eq $on "true") (and (eq $on "auto") (.Capabilities.APIVersions.Has "monitoring.coreos.com/v1")) -}}
true
{{- end -}}
{{- end -}}

{{/* Labels of the monitoring objects: the chart's plus monitoring.labels. */}}
{{- define "syncline.monitoringLabels" -}}
{{ include "syncline.labels" . }}
{{- with .Values.monitoring.labels }}
{{ toYaml . }}
{{- end }}
{{- end -}}
