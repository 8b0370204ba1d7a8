# tapline's own services (capture, stages, sink) in one image; docker-compose.yml picks the
# command per service. libpcap is needed by the optional `cap` addon for live capture.
FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpcap0.8 libpcap-dev python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/tapline
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY . .
ENV TAPLINE_LOG_FORMAT=json
ENTRYPOINT ["node", "bin/tapline.js"]
CMD ["--help"]
