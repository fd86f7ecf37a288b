# ipamsim in a container: one image for every shard of a sweep and for the merge
# (README, "Running a large sweep on your cluster").
#
#   docker build -t ipamsim .
#   docker run --rm --user "$(id -u):$(id -g)" -v "$PWD/output:/results" ipamsim \
#     sweep scenarios/warm-ip.toml --vary WARM_IP_TARGET=1,3,5 --out /results/warm-ip-sweep
#
# The example scenarios are in the image at /opt/ipamsim/scenarios (the working folder, so
# `scenarios/x.toml` names them); mount your own scenario files anywhere and pass their path.
# The image runs as the unprivileged user 65532: a mounted results folder must be writable
# by it (Kubernetes: securityContext.fsGroup 65532; EFS: an access point with that uid).

# Build stage: the toolchain this repository is tested with, the locked dependencies.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src src
COPY benches benches
COPY data data
COPY scenarios scenarios
# No debug info in the image's binary (the release profile keeps some for profiling).
ENV CARGO_PROFILE_RELEASE_DEBUG=0 CARGO_PROFILE_RELEASE_STRIP=symbols
RUN cargo build --release --locked --bin ipamsim

# Runtime stage: glibc and nothing else (no shell, no package manager), non-root by default.
FROM gcr.io/distroless/cc-debian12:nonroot
WORKDIR /opt/ipamsim
COPY --from=build /src/target/release/ipamsim /usr/local/bin/ipamsim
COPY scenarios scenarios
# Numeric, so that Kubernetes' runAsNonRoot can check it.
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/ipamsim"]
CMD ["--help"]
