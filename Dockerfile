# Production images, one multi-stage build: the client is built once in a Node stage and
# goes into the gateway image (which serves it) and the proxy image (which serves its assets).
#   docker build .                 the gateway
#   docker build --target proxy .  the reverse proxy

FROM node:20-slim AS client
WORKDIR /client
COPY client/ ./
RUN if [ -f package.json ]; then npm ci --no-audit --no-fund && npm run build; \
    else mkdir -p dist; fi

# The reverse proxy (compose.yaml's "proxy"): nginx with the client's hashed assets and the
# configuration template the image renders at start (deploy/nginx/interview.conf.template).
FROM nginx:1.27-alpine AS proxy
RUN rm -f /etc/nginx/conf.d/default.conf
COPY deploy/nginx/interview.conf.template /etc/nginx/templates/interview.conf.template
COPY --from=client /client/dist /usr/share/interview/client
ENV PROXY_LISTEN=80 \
    PROXY_CLIENT_ROOT=/usr/share/interview/client \
    NGINX_ENVSUBST_FILTER=^PROXY_
EXPOSE 80

# The gateway (the default target: the last stage).
FROM python:3.11-slim AS server
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    INTERVIEW_ENV=production \
    INTERVIEW_DATA_DIR=/data \
    INTERVIEW_CLIENT_DIST=/app/client/dist
WORKDIR /app
RUN useradd --create-home --uid 10001 interview && mkdir -p /data && chown interview /data
COPY pyproject.toml README.md alembic.ini ./
COPY server/ server/
COPY migrations/ migrations/
RUN pip install --no-cache-dir .
COPY --from=client /client/dist client/dist
USER interview
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2).status != 200)"
CMD ["interview", "serve", "--host", "0.0.0.0", "--port", "8000", "--no-migrate"]
