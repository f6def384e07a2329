# FRR's bgpd as a router of the compose topology (no zebra: it programs no
# kernel routes); its configuration is mounted at /etc/frr/bgpd.conf.
# BASE as in reflex.Dockerfile.
ARG BASE=debian:bookworm-slim
FROM ${BASE}
RUN test -x /usr/lib/frr/bgpd || (apt-get update && \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends frr && \
    rm -rf /var/lib/apt/lists/*)
RUN mkdir -p /run/frr && chown frr:frr /run/frr
EXPOSE 179
CMD ["/usr/lib/frr/bgpd", "-Z", "-S", "-f", "/etc/frr/bgpd.conf", "--vty_socket", "/run/frr", "-i", "/run/frr/bgpd.pid"]
