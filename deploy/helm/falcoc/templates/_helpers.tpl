{{/* The chart's name. */}}
{{- define "falcoc.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release's full name. */}}
{{- define "falcoc.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Selector labels. */}}
{{- define "falcoc.selectorLabels" -}}
app.kubernetes.io/name: {{ include "falcoc.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Common labels. */}}
{{- define "falcoc.labels" -}}
{{ include "falcoc.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The service account's name. */}}
{{- define "falcoc.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "falcoc.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The image reference. */}}
{{- define "falcoc.image" -}}
{{- printf "%s/%s:%s" .Values.image.registry .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* falco.yaml: values.falco, then the rule files, the container plugin's
sockets and the k8saudit entry from the other values. */}}
{{- define "falcoc.falcoYaml" -}}
{{ toYaml .Values.falco }}
rules_files:
  - /etc/falco/falco_rules.yaml
{{- if .Values.k8saudit.enabled }}
  - /etc/falco/k8s_audit_rules.yaml
{{- end }}
{{- if .Values.customRules }}
  - /etc/falco/rules.d
{{- end }}
load_plugins: [container{{ if .Values.k8saudit.enabled }}, k8saudit{{ end }}]
plugins:
  - name: container
    library_path: libcontainer.so
    init_config:
      engines:
        docker: {enabled: {{ .Values.collectors.docker.enabled }}, sockets: [{{ .Values.collectors.docker.socket }}]}
        podman: {enabled: {{ .Values.collectors.podman.enabled }}, sockets: [{{ .Values.collectors.podman.socket }}]}
        containerd: {enabled: {{ .Values.collectors.containerd.enabled }}, sockets: [{{ .Values.collectors.containerd.socket }}]}
        cri:
          enabled: {{ or .Values.collectors.containerd.enabled .Values.collectors.crio.enabled }}
          sockets:
          {{- if .Values.collectors.containerd.enabled }}
            - {{ .Values.collectors.containerd.socket }}
          {{- end }}
          {{- if .Values.collectors.crio.enabled }}
            - {{ .Values.collectors.crio.socket }}
          {{- end }}
{{- if .Values.k8saudit.enabled }}
  - name: k8saudit
    library_path: libk8saudit.so
    open_params: {{ printf "http://:%v%s" .Values.k8saudit.port .Values.k8saudit.path | quote }}
{{- end }}
{{- end -}}
