# The operator's image: slim Python, pinned requirements, non-root, read-only friendly.
FROM python:3.11-slim AS build
WORKDIR /src
COPY requirements.txt pyproject.toml ./
COPY operator ./operator
RUN pip install --no-cache-dir --prefix=/install -r requirements.txt \
 && pip install --no-cache-dir --prefix=/install --no-deps .

FROM python:3.11-slim
COPY --from=build /install /usr/local
# PYTHONDONTWRITEBYTECODE: the root filesystem is read-only in the Deployment.
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["kopf", "run", "--all-namespaces", "-m", "orchestrator.handlers"]
