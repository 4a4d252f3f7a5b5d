# gatecheck's image: gwhook (the admission webhook, `gwhook certs`) and
# gwconform (the conformance runner), with the scenarios and the base
# environment baked in.
#
#   docker build -t gatecheck/gatecheck:$(cat VERSION) .
#   docker tag gatecheck/gatecheck:$(cat VERSION) REGISTRY/gatecheck:$(cat VERSION)
#   docker push REGISTRY/gatecheck:$(cat VERSION)
#
# then point the manifests at it (kustomize edit set image
# gatecheck/gatecheck=REGISTRY/gatecheck:VERSION in deploy/webhook and
# deploy/conformance). Not built in CI: no container engine runs there
# (docs/GUIDE.md).

# ---- build: the Debian packages tools/deps.sh lists for building, then make
FROM debian:bookworm AS build
WORKDIR /src
COPY tools/deps.sh tools/deps.sh
# only the BUILD list of tools/deps.sh (compilers and -dev packages); the test
# and lint tools are not needed here
RUN pkgs=$(sed -n 's/^BUILD="\(.*\)"$/\1/p' tools/deps.sh) && \
    test -n "$pkgs" && \
    apt-get update -qq && \
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $pkgs && \
    rm -rf /var/lib/apt/lists/*
COPY . .
# build/.deps-ok tells the Makefile the packages are there (it would otherwise
# ask tools/deps.sh for the test tools as well)
RUN rm -rf build && mkdir -p build && touch build/.deps-ok && \
    make -j"$(nproc)" build/gwhook build/gwconform && \
    build/gwhook version && build/gwconform version

# ---- runtime: the shared libraries the two binaries link, nothing else
FROM debian:bookworm-slim
RUN apt-get update -qq && \
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        libmicrohttpd12 libgnutls30 libcurl4 libssl3 libyaml-0-2 libcjson1 libpcre2-8-0 \
        ca-certificates && \
    rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/gwhook /src/build/gwconform /usr/local/bin/
# gwconform's defaults are conformance/scenarios and conformance/base,
# relative to the working directory
COPY --from=build /src/conformance/scenarios /usr/share/gatecheck/conformance/scenarios
COPY --from=build /src/conformance/base /usr/share/gatecheck/conformance/base
WORKDIR /usr/share/gatecheck
# the numeric user the manifests' runAsUser names (runAsNonRoot needs a number)
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/gwhook"]
CMD ["--help"]
