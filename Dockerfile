# Build: docker build -t meetplane .   (compose.yaml uses this file)
# Node.js only supplies npm for build.rs, which builds the dashboard into the binary.
FROM node:22-bookworm AS node

FROM rust:1.95-bookworm AS build
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm
# Without the dashboard the image would serve a page saying it is missing: fail instead.
ENV MEETPLANE_BUILD_REQUIRE_WEB=1
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
