# Carnet: API and web desk (docs/operations.md).
#
# Build:  docker build -t carnet .
# Run:    docker run -d --name carnet -p 8000:8000 -v carnet-data:/data \
#           -e CARNET_SECRET_KEY=<a long random secret, the same at every start> \
#           -e CARNET_SELLER_LEGAL_ID=<SIREN or SIRET> -e CARNET_SELLER_VAT_NUMBER=<FR...> \
#           -e CARNET_SELLER_LEGAL_MENTIONS="<legal form, share capital, RCS>" \
#           -e CARNET_METRICS_TOKEN=<what Prometheus sends as a bearer token> \
#           carnet
# The image runs in production mode: without CARNET_SECRET_KEY and the seller's identity it says what
# is missing and does not start. The database (SQLite by default) and the replay files live in the
# /data volume; CARNET_DATABASE_URL=postgresql+psycopg://... points it at PostgreSQL instead.
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
# The package carries its migrations, templates and alembic.ini (setup.py copies them in).
COPY pyproject.toml setup.py README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
COPY templates ./templates
RUN python -m venv /venv && /venv/bin/pip install --no-cache-dir .

FROM python:3.11-slim-bookworm
# Pango and HarfBuzz for the PDF documents; the PostgreSQL client for `carnet backup` and `restore`.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
      fonts-dejavu-core postgresql-client \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /data --no-create-home carnet \
 && mkdir -p /data \
 && chown carnet:carnet /data
COPY --from=build /venv /venv
USER carnet
WORKDIR /data
ENV PATH=/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    CARNET_ENVIRONMENT=production \
    CARNET_DATABASE_URL=sqlite:////data/carnet.db \
    CARNET_REPLAY_FOLDER=/data/replay \
    CARNET_HOST=0.0.0.0 \
    CARNET_PORT=8000 \
    CARNET_WORKERS=2 \
    CARNET_LOG_FORMAT=json
# A new named volume takes the ownership of /data above: the service user may write there.
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD python -c "import os, urllib.request as r; r.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('CARNET_PORT', '8000'), timeout=4)"
CMD ["sh", "-c", "carnet db upgrade && exec carnet serve"]
