# Reflex: `reflex run --config /etc/reflex/reflex.toml`, its data in
# /var/lib/reflex. The binary comes from the build context (ops/docker/build.sh
# puts it in ops/docker/bin/). BASE: debian:bookworm-slim from a registry,
# or reflex/debian:bookworm made by ops/docker/base.sh without one.
ARG BASE=debian:bookworm-slim
FROM ${BASE}
RUN command -v ip >/dev/null || (apt-get update && \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends iproute2 && \
    rm -rf /var/lib/apt/lists/*)
COPY ops/docker/bin/reflex /usr/local/bin/reflex
VOLUME /var/lib/reflex
EXPOSE 179 8179
ENTRYPOINT ["/usr/local/bin/reflex"]
CMD ["run", "--config", "/etc/reflex/reflex.toml"]
