# BIRD 2 as a router of the compose topology: its configuration is mounted
# at /etc/bird/bird.conf. BASE as in reflex.Dockerfile.
ARG BASE=debian:bookworm-slim
FROM ${BASE}
RUN command -v bird >/dev/null || (apt-get update && \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends bird2 && \
    rm -rf /var/lib/apt/lists/*)
RUN mkdir -p /run/bird
EXPOSE 179
CMD ["bird", "-f", "-c", "/etc/bird/bird.conf", "-s", "/run/bird/bird.ctl"]
