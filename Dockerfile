# The operator's and the REST API's image: slim Python, pinned requirements, non-root,
# read-only friendly. PYTHON_IMAGE lets a build without registry access start from a local
# stand-in (make image does: hack/image.sh).
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
COPY requirements.txt pyproject.toml ./
COPY operator ./operator
RUN pip install --no-cache-dir --prefix=/install -r requirements.txt \
 && pip install --no-cache-dir --prefix=/install --no-deps .

FROM ${PYTHON_IMAGE}
COPY --from=build /install /usr/local
# PYTHONDONTWRITEBYTECODE: the root filesystem is read-only in the Deployment. USER: the uid
# below (or any a cluster picks, as OpenShift does) has no passwd entry, and kopf asks for a
# user name.
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 USER=orchestrator
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["kopf", "run", "--all-namespaces", "-m", "orchestrator.operator.handlers"]
