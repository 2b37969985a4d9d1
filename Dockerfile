# The hub as it is deployed: `hub serve` against the PostgreSQL named by HUB_DATABASE_URL.
# Dependencies are installed from requirements/runtime.lock (exact versions, verified hashes), so two
# builds of one commit carry the same code. Run `hub migrate` once per release (a one-shot job from
# this same image: `docker run … IMAGE hub migrate`) before starting new containers.
FROM python:3.11-slim AS build
WORKDIR /src
COPY requirements/runtime.lock ./requirements/runtime.lock
RUN pip install --no-cache-dir --require-hashes --prefix=/install -r requirements/runtime.lock
COPY pyproject.toml README.md ./
COPY hub ./hub
COPY schema ./schema
COPY resolvers ./resolvers
COPY auth ./auth
COPY migrations ./migrations
RUN pip install --no-cache-dir --no-deps --prefix=/install .

FROM python:3.11-slim
RUN groupadd --system hub && useradd --system --gid hub --home-dir /app --shell /usr/sbin/nologin hub
WORKDIR /app
COPY --from=build /install /usr/local
USER hub
# HUB_ISSUER must be set to the hub's public https URL: it is the `iss` of every token, and `hub serve`
# refuses the wildcard http://0.0.0.0:8000 it would otherwise derive. `hub serve` also refuses a store
# that is not migrated; `hub migrate --check` is the same gate for a pipeline or an init container.
ENV HUB_HOST=0.0.0.0 \
    HUB_PORT=8000 \
    PYTHONUNBUFFERED=1
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import os, sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('HUB_PORT', '8000')).status == 200 else 1)"
CMD ["hub", "serve"]
