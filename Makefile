# Everyday commands. `make demo` shows the whole thing; `make test` is what CI runs.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
BIN_DIR := $(shell source hack/versions.sh && echo $$BIN_DIR)
KUBECTL := $(BIN_DIR)/kubectl
HELM := $(shell source hack/versions.sh && echo $$TOOLS_DIR)/helm
LOCAL_KUBECONFIG := $(CURDIR)/.cluster/kubeconfig
export KUBECONFIG ?= $(LOCAL_KUBECONFIG)

.PHONY: help deps venv build cluster-up cluster-down cluster-status install run api demo bench test unit lint lock crd \
  image deploy undeploy manifests score helm-install bench-scale bench-rest plugin
BENCH_ARGS ?= --burst 1000 --populations 1000,10000

help:
	@echo "make demo          local cluster from source, the operator, a sample command and its output"
	@echo "make test          lint, unit tests and cluster tests (builds and starts the cluster)"
	@echo "make cluster-up    start the local cluster (KUBECONFIG=.cluster/kubeconfig)"
	@echo "make cluster-down  stop it and remove its state"
	@echo "make install       apply the CRD, the orchestrator namespace and the RBAC to \$$KUBECONFIG"
	@echo "make run           run the operator in the foreground against \$$KUBECONFIG"
	@echo "make api           run the REST API on http://127.0.0.1:8080 against \$$KUBECONFIG"
	@echo "make bench         benchmark the operator against plain Jobs (BENCH_ARGS=... for sizes)"
	@echo "make bench-rest    the REST API under load beside the API server itself: bench/results/rest.md"
	@echo "make bench-scale   start the operator with 20,000 to 100,000 runs present (SCALE_ARGS=...): bench/results/scale.md"
	@echo "make image         build the operator's image from Dockerfile (buildah; loaded into the local cluster)"
	@echo "make deploy        install it in the local cluster as users do (kubectl apply -k), operator and API as pods"
	@echo "make undeploy      remove the in-cluster operator and API (the CRD, RBAC and runs stay)"
	@echo "make manifests     render kubernetes/ from the Helm chart, and kubernetes/orchestrator.yml"
	@echo "make score         helm lint and kube-score on kubernetes/ and the Helm chart (charts/orchestrator)"
	@echo "make helm-install  install the Helm chart in the local cluster (image from make image), as make deploy does"

# Everything the cluster and its tests need (apt packages, Go check, then venv).
deps:
	@hack/install-deps.sh

# Python only: what lint, unit tests, make run and make api need.
venv:
	@hack/venv.sh

build:
	@hack/build.sh

cluster-up: deps
	@hack/cluster.sh up

cluster-down:
	@hack/cluster.sh down

cluster-status:
	@hack/cluster.sh status

# What an operator run outside the cluster (make run) needs there: the CRD, the namespace holding
# its leader-election Lease, and the RBAC (users' edit/view roles aggregate AdhocCommands).
install: build
	$(KUBECTL) apply -k crds/
	$(KUBECTL) apply -f kubernetes/namespace.yaml -f kubernetes/rbac.yaml -f kubernetes/admission.yaml \
	  -f kubernetes/requested-by/v1beta1/requested-by.yaml  # the local cluster serves MutatingAdmissionPolicy v1beta1
	$(KUBECTL) wait --for=condition=Established crd/adhoccommands.orchestrator.dev --timeout=60s

# Against the local cluster, the operator takes its settings from hack/deploy/config.yaml (as
# make deploy does): commands run on the real node, in its runner image (python3 inside).
LOCAL_SETTINGS = if [ "$$KUBECONFIG" = "$(LOCAL_KUBECONFIG)" ]; then eval "$$($(PY) hack/local_settings.py)"; fi
run: venv
	@$(LOCAL_SETTINGS); $(PY) -m orchestrator.operator --all-namespaces

api: venv
	$(VENV)/bin/uvicorn --factory orchestrator.rest.app:create_app --host 127.0.0.1 --port 8080 --timeout-keep-alive 75

demo: cluster-up
	@$(PY) -m hack.demo

bench: cluster-up
	$(PY) -m bench.bench $(BENCH_ARGS)

# The REST API under load beside the same requests sent straight to the API server: bench/results/rest.md.
REST_ARGS ?= --requests 1500 --concurrency 200 --rounds 2
bench-rest: cluster-up
	$(PY) -m bench.rest $(REST_ARGS)

# The operator started with 20,000, 50,000 and 100,000 finished runs present, each population made
# once (bench/population.py) and kept as a snapshot of etcd in the cache: bench/results/scale.md.
SCALE_ARGS ?= --populations 20000,50000,100000
bench-scale: cluster-up
	$(PY) -m bench.bench --scale-only $(SCALE_ARGS)

unit: venv
	$(VENV)/bin/pytest -q -m "not cluster"

# What pre-commit runs too (.pre-commit-config.yaml): lint, format, types, the layers' import rule.
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest -q -p no:cacheprovider tests/unit/test_layers.py
	$(PY) hack/audit.py  # pip-audit of requirements.txt; offline, it says it skipped

image: venv
	@hack/image.sh

# kubectl adhoc for krew: an archive per platform in dist/, and dist/adhoc.yaml (the manifest).
plugin: venv
	$(PY) hack/plugin.py

# requirements.lock: requirements.txt's pins with the hashes of every file PyPI has for them (all
# platforms), which the image's pip install requires. Run after changing requirements.txt.
lock: venv
	$(VENV)/bin/pip-compile --generate-hashes --no-header --no-emit-find-links --quiet --strip-extras \
	  -o requirements.lock requirements.txt

deploy: cluster-up
	@hack/deploy.sh

undeploy: build
	$(KUBECTL) -n orchestrator delete deployment orchestrator orchestrator-api --ignore-not-found --wait=true

manifests: build
	$(PY) hack/gen_manifests.py $(HELM)  # kubernetes/*.yaml from the chart, the one hand-written source
	@{ echo "# orchestrator: CRD, namespace, RBAC, operator and REST API. Rendered from kubernetes/ by"; \
	   echo "# make manifests (kubectl kustomize kubernetes/), itself rendered from charts/orchestrator: edit the chart."; \
	   $(KUBECTL) kustomize kubernetes/; } > kubernetes/orchestrator.yml

score: build
	$(HELM) lint --strict charts/orchestrator
	@hack/score.sh

# The chart with the local cluster's settings (hack/deploy/config.yaml); it takes over what
# make deploy installed, if anything.
helm-install: cluster-up image
	$(PY) hack/local_settings.py --helm-values | $(HELM) upgrade --install orchestrator charts/orchestrator \
	  -n orchestrator --create-namespace --take-ownership --force-conflicts -f - --wait --timeout 180s

test: deps build lint
	$(VENV)/bin/pytest -q -ra --durations=10

crd: deps
	$(PY) hack/gen_crd.py "$$(cd hack/k8s && go list -m -f '{{.Dir}}' k8s.io/kubernetes)/api/openapi-spec/v3/api__v1_openapi.json" \
	  > crds/adhoccommands.orchestrator.dev.yaml
	cp crds/adhoccommands.orchestrator.dev.yaml charts/orchestrator/files/  # the chart's copy (a test compares)
	$(PY) hack/crd_schema.py crds/adhoccommands.orchestrator.dev.yaml > operator/orchestrator/rest/adhoccommand.schema.json
