# The operator's and the REST API's image: slim Python, pinned requirements, non-root,
# read-only friendly. PYTHON_IMAGE lets a build without registry access start from a local
# stand-in (make image does: hack/image.sh).
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
# README and LICENSE: the distribution's metadata names them (the license lands in its dist-info).
COPY requirements.lock pyproject.toml README.md LICENSE ./
COPY operator ./operator
# --require-hashes: every file installed is one whose hash requirements.lock names (make lock).
RUN pip install --no-cache-dir --prefix=/install --require-hashes -r requirements.lock \
 && pip install --no-cache-dir --prefix=/install --no-deps .

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="orchestrator" \
      org.opencontainers.image.description="Runs ad hoc commands as Kubernetes Jobs and keeps their output" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.source="https://github.com/orchestrator-dev/orchestrator"
# pip, setuptools and wheel are the build's, not the runtime's: nothing installs at run time, and
# each is one more package for scanners to flag. (The base image's own copies; ours are in /install.)
RUN python3 -m pip uninstall --yes --quiet pip setuptools wheel \
 && rm -rf /usr/local/lib/python3*/ensurepip /usr/local/bin/pip*
COPY --from=build /install /usr/local
COPY LICENSE /usr/share/doc/orchestrator/LICENSE
# PYTHONDONTWRITEBYTECODE: the root filesystem is read-only in the Deployment. USER: the uid
# below (or any a cluster picks, as OpenShift does) has no passwd entry, and kopf asks for a
# user name.
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 USER=orchestrator
USER 10001:10001
EXPOSE 8080
# The operator (kopf hosting its handlers; the namespaces from ORCHESTRATOR_NAMESPACES, else all).
ENTRYPOINT ["python3", "-m", "orchestrator.operator"]
