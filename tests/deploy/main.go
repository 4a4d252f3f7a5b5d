// render: kustomize build of one directory, with the kustomize library
// (sigs.k8s.io/kustomize/api, krusty) that `kubectl apply -k` embeds, so the
// manifests under deploy/ are checked as users will render them.
//
//	render DIR    the rendered objects as multi-document YAML on stdout
//
// Exit status: 0 rendered, 1 kustomize refused the directory (its message on
// stderr), 2 usage.
package main

import (
	"fmt"
	"os"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

func main() {
	if len(os.Args) != 2 || os.Args[1] == "-h" || os.Args[1] == "--help" {
		fmt.Fprintln(os.Stderr, "usage: render DIR")
		os.Exit(2)
	}
	// as `kubectl apply -k`: the kustomization's sortOptions decide the order,
	// legacy (kind by kind) when it has none
	opts := krusty.MakeDefaultOptions()
	opts.Reorder = krusty.ReorderOptionUnspecified
	k := krusty.MakeKustomizer(opts)
	m, err := k.Run(filesys.MakeFsOnDisk(), os.Args[1])
	if err != nil {
		fmt.Fprintf(os.Stderr, "render: %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
	out, err := m.AsYaml()
	if err != nil {
		fmt.Fprintf(os.Stderr, "render: %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
	os.Stdout.Write(out)
}
