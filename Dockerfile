# Carnet: API and web desk. Build: docker build -t carnet .  Run: docker run -p 8000:8000 -v carnet-data:/data carnet
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
RUN python -m venv /venv && /venv/bin/pip install --no-cache-dir .

FROM python:3.11-slim-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /srv/carnet carnet \
 && mkdir -p /data && chown carnet /data
COPY --from=build /venv /venv
WORKDIR /srv/carnet
COPY --chown=carnet alembic.ini ./
COPY --chown=carnet migrations ./migrations
COPY --chown=carnet templates ./templates
COPY --chown=carnet app ./app
USER carnet
ENV PATH=/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    CARNET_ENVIRONMENT=production \
    CARNET_DATABASE_URL=sqlite:////data/carnet.db \
    CARNET_HOST=0.0.0.0 \
    CARNET_PORT=8000 \
    CARNET_WORKERS=2
EXPOSE 8000
# CARNET_SECRET_KEY must be given at run time: the service refuses the development key in production.
# So must the seller's identity printed on invoices: CARNET_SELLER_LEGAL_ID (SIREN or SIRET),
# CARNET_SELLER_VAT_NUMBER and CARNET_SELLER_LEGAL_MENTIONS (legal form, capital, RCS).
CMD ["sh", "-c", "python -m app db upgrade && exec python -m app serve"]
