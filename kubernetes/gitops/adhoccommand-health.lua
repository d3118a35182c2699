-- Argo CD health check for orchestrator.dev/AdhocCommand.
-- Install: kubernetes/gitops/argocd-cm-patch.yaml (resource.customizations.health.orchestrator.dev_AdhocCommand).
local hs = {}
if obj.status == nil or obj.status.observedGeneration == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to start the run"
  return hs
end
if obj.metadata.generation ~= nil and obj.status.observedGeneration < obj.metadata.generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. obj.metadata.generation
  return hs
end
local phase = obj.status.phase
local detail = ""
if obj.status.reason ~= nil then
  detail = obj.status.reason
  if obj.status.message ~= nil and obj.status.message ~= "" then
    detail = detail .. ": " .. obj.status.message
  end
end
if phase == "Succeeded" then
  hs.status = "Healthy"
  hs.message = "Succeeded"
  if obj.status.exitCode ~= nil then
    hs.message = "Succeeded with exit code " .. obj.status.exitCode
  end
elseif phase == "Failed" then
  hs.status = "Degraded"
  hs.message = "Failed"
  if obj.status.exitCode ~= nil then
    hs.message = hs.message .. " with exit code " .. obj.status.exitCode
  end
  if detail ~= "" then
    hs.message = hs.message .. " (" .. detail .. ")"
  end
elseif phase == "Suspended" then
  hs.status = "Suspended"
  hs.message = "The run's Job is suspended"
else
  hs.status = "Progressing"
  hs.message = phase or "Pending"
  if detail ~= "" then
    hs.message = hs.message .. " (" .. detail .. ")"
  end
end
return hs
