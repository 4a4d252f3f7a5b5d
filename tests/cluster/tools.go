//go:build tools

// Package tools pins the control-plane programs that tests/cluster builds:
// kube-apiserver and kube-controller-manager from k8s.io/kubernetes, and etcd
// from go.etcd.io/etcd/server/v3. Nothing here is compiled into gatecheck; the
// Makefile runs `go build` on these import paths (see tools/cluster-build.sh).
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
)
