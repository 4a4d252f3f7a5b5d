// Builds the upstream Gateway API admission webhook (sigs.k8s.io/gateway-api
// v0.8.1, cmd/admission: the Go webhook gwhook replaces) from the Go module
// proxy, for `make bench` (tools/bench-serve.sh). No upstream code is copied
// here: tools/bench-serve.sh copies this go.mod and go.sum to a cache
// directory outside the repo and runs, there,
//   GOFLAGS=-mod=mod GOTOOLCHAIN=local go build -o admission sigs.k8s.io/gateway-api/cmd/admission
module gatecheck/bench/gowebhook

go 1.20

require sigs.k8s.io/gateway-api v0.8.1
