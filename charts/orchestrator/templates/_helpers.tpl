{{/* The release's base name: the release name when it says orchestrator, else both. */}}
{{- define "orchestrator.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels of every object; "component" is orchestrator (the operator) or orchestrator-api. */}}
{{- define "orchestrator.labels" -}}
{{ include "orchestrator.selector" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: orchestrator
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{- define "orchestrator.selector" -}}
app.kubernetes.io/name: {{ .component }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{- define "orchestrator.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* Prefer the replicas of one Deployment on different nodes. */}}
{{- define "orchestrator.spread" -}}
affinity:
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "orchestrator.selector" . | nindent 12 }}
{{- end -}}

{{- define "orchestrator.podSecurity" -}}
securityContext:
  runAsNonRoot: true
  {{- with .Values.podSecurity.runAsUser }}
  runAsUser: {{ . }}
  runAsGroup: {{ . }}
  {{- end }}
  seccompProfile:
    type: RuntimeDefault
{{- end -}}

{{- define "orchestrator.containerSecurity" -}}
securityContext:
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  capabilities:
    drop: [ALL]
{{- end -}}

{{/* Egress to the API server only (networkPolicy.apiServer). */}}
{{- define "orchestrator.egress" -}}
egress:
- ports:
  {{- range .Values.networkPolicy.apiServer.ports }}
  - {port: {{ . }}, protocol: TCP}
  {{- end }}
  {{- with .Values.networkPolicy.apiServer.cidrs }}
  to:
  {{- range . }}
  - ipBlock: {cidr: {{ . }}}
  {{- end }}
  {{- end }}
{{- end -}}

{{/* The operator's rights in the namespaces it serves: exactly the verbs its code uses. */}}
{{- define "orchestrator.namespacedRules" -}}
- apiGroups: [orchestrator.dev]
  resources: [adhoccommands]
  verbs: [get, list, watch, delete]  # delete: ttlSecondsAfterFinished
- apiGroups: [orchestrator.dev]
  resources: [adhoccommands/status]
  verbs: [patch]
- apiGroups: [batch]
  resources: [jobs]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [apps]
  resources: [deployments, statefulsets, daemonsets]
  verbs: [get]  # spec.from: the workload's pod template, read when a run starts
- apiGroups: [batch]
  resources: [cronjobs]
  verbs: [get]  # spec.from
- apiGroups: [""]
  resources: [pods]
  verbs: [list, watch]
- apiGroups: [""]
  resources: [pods/log]
  verbs: [get]
- apiGroups: [""]
  resources: [configmaps]
  # The logs ConfigMap: created, or replaced after a retry; read to keep a run's output in
  # <name>-logs-<generation> when a new run starts; deleted when it leaves the history.
  verbs: [get, list, watch, create, update, delete]
- apiGroups: [""]
  resources: [secrets]
  # spec.logs.storage: Secret. Never get, list or watch (no Secret is read); the policy
  # ...-output-secrets narrows these two to an AdhocCommand's output.
  verbs: [create, update]
{{- end -}}

{{- define "orchestrator.eventRules" -}}
- apiGroups: ["", events.k8s.io]
  resources: [events]
  verbs: [create]
- apiGroups: [""]
  resources: [events]
  verbs: [list]  # a Job's FailedCreate events (a field selector), when its status says its pod is missing
{{- end -}}

{{/* The REST API Service's port: api.service.port, else 443 with TLS and 80 without. */}}
{{- define "orchestrator.apiPort" -}}
{{- .Values.api.service.port | default (ternary 443 80 (ne .Values.api.tls.secretName "")) -}}
{{- end }}
