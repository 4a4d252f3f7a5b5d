// Package upstream_test drives upstream's conformance suite through its own
// exported API (conformance.DefaultOptions and RunConformanceWithOptions), with
// upstream's own flags (--gateway-class, --supported-features, --skip-tests,
// --timeout-config-overrides...). Ours are few and prefixed "gatecheck.":
//
//	-gatecheck.run A,B   run only these ShortNames. Unlike upstream's
//	                     --run-test (one test, feature check bypassed), the
//	                     feature check still applies: it adds every other test
//	                     to the suite's SkipTests.
//	-gatecheck.list      print "ShortName<TAB>Feature,Feature" for every
//	                     upstream test and exit; needs no cluster.
//	-gatecheck.apiserver-timeout  how long to wait for the API server to answer.
//	-gatecheck.namespace-timeout  how long to wait for the base namespaces of a
//	                     previous run to finish terminating.
//
// Before the suite starts, a preflight fails the test with a line starting
// "GATECHECK-CANNOT-RUN:" when the suite could not run at all (API server
// unreachable, CRDs missing or of another release, unknown GatewayClass or
// test name); tools/upstream-suite.sh turns that into exit status 2.
package upstream_test

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/config"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/gateway-api/conformance"
	"sigs.k8s.io/gateway-api/conformance/tests"
	"sigs.k8s.io/gateway-api/conformance/utils/suite"
)

var (
	runOnly = flag.String("gatecheck.run", "",
		"comma-separated upstream ShortNames to run; every other test is added to --skip-tests")
	listTests = flag.Bool("gatecheck.list", false,
		"print ShortName<TAB>features of every upstream test and exit")
	apiserverTimeout = flag.Duration("gatecheck.apiserver-timeout", 15*time.Second,
		"how long the preflight waits for the API server to answer")
	namespaceTimeout = flag.Duration("gatecheck.namespace-timeout", 120*time.Second,
		"how long the preflight waits for terminating base namespaces of a previous run")
)

// cannotRun stops the test with the marker tools/upstream-suite.sh looks for.
func cannotRun(t *testing.T, format string, args ...any) {
	t.Helper()
	t.Fatalf("GATECHECK-CANNOT-RUN: "+format, args...)
}

func TestConformance(t *testing.T) {
	if *listTests {
		for _, ct := range tests.ConformanceTests {
			fs := make([]string, 0, len(ct.Features))
			for _, f := range ct.Features {
				fs = append(fs, string(f))
			}
			fmt.Printf("%s\t%s\n", ct.ShortName, strings.Join(fs, ","))
		}
		return
	}

	preflightAPIServer(t)

	opts := conformance.DefaultOptions(t)
	if *runOnly != "" {
		want := map[string]bool{}
		for _, n := range strings.Split(*runOnly, ",") {
			if n = strings.TrimSpace(n); n != "" {
				want[n] = true
			}
		}
		for _, ct := range tests.ConformanceTests {
			if want[ct.ShortName] {
				delete(want, ct.ShortName)
			} else if !slices.Contains(opts.SkipTests, ct.ShortName) {
				opts.SkipTests = append(opts.SkipTests, ct.ShortName)
			}
		}
		if len(want) > 0 {
			unknown := make([]string, 0, len(want))
			for n := range want {
				unknown = append(unknown, n)
			}
			slices.Sort(unknown)
			cannotRun(t, "no upstream test named %s in this release (see -gatecheck.list)", strings.Join(unknown, ", "))
		}
	}
	if opts.RunTest != "" && !slices.ContainsFunc(tests.ConformanceTests, func(ct suite.ConformanceTest) bool { return ct.ShortName == opts.RunTest }) {
		cannotRun(t, "no upstream test named %s in this release (see -gatecheck.list)", opts.RunTest)
	}

	if opts.ReportOutputPath != "" {
		if err := opts.Implementation.Validate(); err != nil {
			cannotRun(t, "--report-output needs --organization, --project, --url, --version and --contact: %v", err)
		}
	}
	// The same constructor RunConformanceWithOptions calls: it lists the
	// CRDs and compares their bundle version and channel with the suite's.
	if _, err := suite.NewConformanceTestSuite(opts); err != nil {
		cannotRun(t, "the suite cannot start: %v", err)
	}
	preflightGatewayClass(t, opts)
	preflightNamespaces(t, opts)

	conformance.RunConformanceWithOptions(t, opts)
}

// preflightAPIServer fails fast, with the cause, when the kubeconfig cannot be
// loaded or its API server does not answer (DefaultOptions would hang on a
// silent address or fail later with a less clear message).
func preflightAPIServer(t *testing.T) {
	cfg, err := config.GetConfig()
	if err != nil {
		cannotRun(t, "cannot load a kubeconfig (--kubeconfig or KUBECONFIG): %v", err)
	}
	cfg.Timeout = 10 * time.Second
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		cannotRun(t, "cannot build a client for %s: %v", cfg.Host, err)
	}
	deadline := time.Now().Add(*apiserverTimeout)
	for {
		_, err = dc.ServerVersion()
		if err == nil {
			return
		}
		if time.Now().After(deadline) || apierrors.IsUnauthorized(err) || apierrors.IsForbidden(err) {
			cannotRun(t, "the API server at %s does not answer: %v", cfg.Host, err)
		}
		time.Sleep(time.Second)
	}
}

// preflightGatewayClass: a missing GatewayClass is a wrong --gateway-class or
// a cluster that was not prepared; the suite would only wait
// GWCMustBeAccepted for it and fail its setup.
func preflightGatewayClass(t *testing.T, opts suite.ConformanceOptions) {
	gwc := &gatewayv1.GatewayClass{}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := opts.Client.Get(ctx, types.NamespacedName{Name: opts.GatewayClassName}, gwc)
	if apierrors.IsNotFound(err) {
		cannotRun(t, "GatewayClass %q does not exist; create it (spec.controllerName of the gateway under test) or pass the right --gateway-class", opts.GatewayClassName)
	}
	if err != nil {
		cannotRun(t, "cannot read GatewayClass %q: %v", opts.GatewayClassName, err)
	}
	t.Logf("gatecheck: GatewayClass %s, controllerName %s", gwc.Name, gwc.Spec.ControllerName)
}

// preflightNamespaces waits until the base namespaces of a previous run are
// gone: upstream's cleanup deletes them without waiting, and objects cannot be
// created in a namespace that is terminating.
func preflightNamespaces(t *testing.T, opts suite.ConformanceOptions) {
	names := []string{suite.InfrastructureNamespace, suite.AppBackendNamespace, suite.WebBackendNamespace}
	deadline := time.Now().Add(*namespaceTimeout)
	for _, n := range names {
		for {
			ns := &corev1.Namespace{}
			err := opts.Client.Get(context.Background(), client.ObjectKey{Name: n}, ns)
			if apierrors.IsNotFound(err) || (err == nil && ns.DeletionTimestamp == nil) {
				break
			}
			if time.Now().After(deadline) {
				cannotRun(t, "namespace %s of a previous run is still terminating after %v (err=%v); is kube-controller-manager running?", n, *namespaceTimeout, err)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
}
