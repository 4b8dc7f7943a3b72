# Build: docker build -t meetplane .   (compose.yaml uses this file)
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin meetplane

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data meetplane \
 && mkdir -p /data && chown meetplane /data
COPY --from=build /src/target/release/meetplane /usr/local/bin/meetplane
ENV MEETPLANE_DATA_DIR=/data \
    MEETPLANE_LISTEN=0.0.0.0:8080
USER meetplane
WORKDIR /data
EXPOSE 8080
ENTRYPOINT ["meetplane"]
CMD ["serve"]
