package main

// The two judges of `oracle differential`: (a) build/gwhook validate, offline;
// (b) the API server, through a server-side dry-run create
// (?dryRun=All&fieldValidation=Strict), or the in-process oracle with
// -inprocess when no cluster is at hand.

import (
	"sigs.k8s.io/yaml"

	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// judgement is one judge's answer for one object.
type judgement struct {
	Allowed  bool     `json:"allowed"`
	Code     int      `json:"code,omitempty"`     // HTTP status (API server)
	Paths    []string `json:"paths"`              // sorted, distinct
	Messages []string `json:"messages"`           // "path: message", as field.Error.Error()
	Status   string   `json:"status,omitempty"`   // the Status message (API server)
	Err      string   `json:"error,omitempty"`    // the judge could not answer
	Warnings []string `json:"warnings,omitempty"` // API server Warning headers
}

func distinctSorted(l []string) []string {
	m := map[string]bool{}
	out := []string{}
	for _, s := range l {
		if !m[s] {
			m[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// ---------------------------------------------------------------- (a) gwhook

type gwhookJSON struct {
	Results []struct {
		File   string `json:"file"`
		Kind   string `json:"kind"`
		Name   string `json:"name"`
		Valid  bool   `json:"valid"`
		Errors []struct {
			Field   string `json:"field"`
			Reason  string `json:"reason"`
			Message string `json:"message"`
		} `json:"errors"`
	} `json:"results"`
}

// pathBadRequest is the path of a body the API server cannot decode at all
// (a 400 that is not a strict decoding error): no field is named.
const pathBadRequest = "<bad request>"

// pathUnreadable is the path of a file gwhook validate refuses to read
// (exit 2, "error: FILE: ..." on stderr): a denial without a field.
const pathUnreadable = "<unreadable>"

// judgeGwhook runs `gwhook validate -q -o json --channel standard DIR` once
// over the corpus directory; results are matched to objects by file.
func judgeGwhook(bin, dir string, objs []*dobj) ([]judgement, error) {
	cmd := exec.Command(bin, "validate", "-q", "-o", "json", "--channel", "standard", dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	// exit 2 with per-file "error: FILE: ..." lines on stderr: those files
	// could not be read (gwhook's reader refuses them); the others are judged
	unreadable := map[string]string{}
	for _, l := range strings.Split(stderr.String(), "\n") {
		if rest, ok := strings.CutPrefix(l, "error: "+dir+"/"); ok {
			if f, msg, ok := strings.Cut(rest, ": "); ok {
				unreadable[f] = msg
			}
		}
	}
	if ee, ok := err.(*exec.ExitError); ok && (ee.ExitCode() == 1 || (ee.ExitCode() == 2 && len(unreadable) > 0)) {
		err = nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s validate: %v: %s", bin, err, strings.TrimSpace(stderr.String()))
	}
	var g gwhookJSON
	if err := json.Unmarshal(out, &g); err != nil {
		return nil, fmt.Errorf("reading gwhook's JSON: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	byFile := map[string]int{}
	for i, r := range g.Results {
		f := filepath.Base(r.File)
		if _, dup := byFile[f]; dup {
			byFile[f] = -1 // more than one object in a file: not ours
			continue
		}
		byFile[f] = i
	}
	res := make([]judgement, len(objs))
	for i, o := range objs {
		j, ok := byFile[o.File]
		switch {
		case !ok && unreadable[o.File] != "":
			res[i] = judgement{Paths: []string{pathUnreadable}, Messages: []string{"error: " + unreadable[o.File]}}
			continue
		case !ok:
			res[i].Err = "gwhook reported no object for " + o.File
			continue
		case j < 0:
			res[i].Err = "gwhook reported several objects for " + o.File
			continue
		}
		r := g.Results[j]
		var paths []string
		msgs := []string{}
		for _, e := range r.Errors {
			p := e.Field
			if e.Reason == "" && strings.Contains(e.Message, "cannot be handled as a") {
				p = pathBadRequest
			}
			paths = append(paths, p)
			msgs = append(msgs, e.Message)
		}
		res[i] = judgement{Allowed: len(r.Errors) == 0, Paths: distinctSorted(paths), Messages: msgs}
	}
	return res, nil
}

// ---------------------------------------------------------------- (b) API server

// statusBody is a metav1.Status, as much as we read of it.
type statusBody struct {
	Kind    string `json:"kind"`
	Status  string `json:"status"`
	Message string `json:"message"`
	Reason  string `json:"reason"`
	Code    int    `json:"code"`
	Details *struct {
		Causes []struct {
			Reason  string `json:"reason"`
			Message string `json:"message"`
			Field   string `json:"field"`
		} `json:"causes"`
	} `json:"details"`
}

var strictField = regexp.MustCompile(`(unknown|duplicate) field "((?:[^"\\]|\\.)*)"`)

// fromStatus turns the API server's answer into a judgement:
//
//   - 2xx: allowed;
//   - 422 Invalid: the causes, field and "field: message";
//   - 400 with "strict decoding error: ...": each unknown or duplicate field
//     is a path, with the message `unknown field "PATH"` (as gatecheck has it);
//   - 404 (kind or version not served): the path apiVersion;
//   - any other 4xx: the path "<bad request>" and the Status message.
func fromStatus(code int, body []byte) judgement {
	if code >= 200 && code < 300 {
		return judgement{Allowed: true, Code: code, Paths: []string{}, Messages: []string{}}
	}
	j := judgement{Code: code, Paths: []string{}, Messages: []string{}}
	if code == http.StatusNotFound {
		// a group, version or kind the channel does not serve; the body is
		// a Status, or "404 page not found" when the whole group-version is
		// unknown
		j.Paths = []string{"apiVersion"}
		j.Status = strings.TrimSpace(string(body))
		var st statusBody
		if json.Unmarshal(body, &st) == nil && st.Kind == "Status" {
			j.Status = st.Message
		}
		j.Messages = []string{j.Status}
		return j
	}
	var st statusBody
	if err := json.Unmarshal(body, &st); err != nil || st.Kind != "Status" {
		j.Status = strings.TrimSpace(string(body))
		j.Paths = []string{fmt.Sprintf("<HTTP %d>", code)}
		j.Messages = []string{j.Status}
		return j
	}
	j.Status = st.Message
	switch {
	case code == http.StatusUnprocessableEntity && st.Details != nil && len(st.Details.Causes) > 0:
		var paths []string
		for _, c := range st.Details.Causes {
			paths = append(paths, c.Field)
			if c.Field != "" {
				j.Messages = append(j.Messages, c.Field+": "+c.Message)
			} else {
				j.Messages = append(j.Messages, c.Message)
			}
		}
		j.Paths = distinctSorted(paths)
	case code == http.StatusBadRequest && strings.Contains(st.Message, "strict decoding error"):
		var paths []string
		for _, m := range strictField.FindAllStringSubmatch(st.Message, -1) {
			var p string
			if err := json.Unmarshal([]byte(`"`+m[2]+`"`), &p); err != nil {
				p = m[2]
			}
			paths = append(paths, p)
			j.Messages = append(j.Messages, fmt.Sprintf("%s field %q", m[1], p))
		}
		if len(paths) == 0 {
			paths = []string{pathBadRequest}
			j.Messages = []string{st.Message}
		}
		j.Paths = distinctSorted(paths)
	default:
		j.Paths = []string{pathBadRequest}
		j.Messages = []string{st.Message}
	}
	return j
}

type apiServer struct {
	base   *url.URL
	client *http.Client
	kinds  map[string]*crdKind
}

func newAPIServer(kubeconfig string, kinds map[string]*crdKind, jobs int) (*apiServer, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = -1, -1 // no client-side rate limit: the server is local
	rt, err := rest.TransportFor(cfg)
	if err != nil {
		return nil, err
	}
	if t, ok := rt.(*http.Transport); ok {
		t.MaxIdleConnsPerHost = jobs
	}
	host := cfg.Host
	if !strings.Contains(host, "://") {
		host = "https://" + host
	}
	u, err := url.Parse(host)
	if err != nil {
		return nil, err
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return &apiServer{base: u, client: &http.Client{Transport: rt, Timeout: 60 * time.Second}, kinds: kinds}, nil
}

func (a *apiServer) do(method, path string, query url.Values, body []byte) (int, []byte, http.Header, error) {
	u := *a.base
	u.Path += path
	u.RawQuery = query.Encode()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, u.String(), r)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, resp.Header, err
}

func (a *apiServer) getJSON(path string, v interface{}) (int, error) {
	code, data, _, err := a.do("GET", path, nil, nil)
	if err != nil {
		return 0, err
	}
	if code != 200 {
		return code, fmt.Errorf("GET %s: HTTP %d: %s", path, code, strings.TrimSpace(string(data)))
	}
	return code, json.Unmarshal(data, v)
}

// restPath: where a kubectl create of this object goes.
func (a *apiServer) restPath(o *dobj) string {
	gv := o.APIVersion
	plural := strings.ToLower(o.Kind) + "s" // a kind the channel does not serve: 404 either way
	namespaced := true
	if k := a.kinds[o.Kind]; k != nil {
		plural, namespaced = k.Plural, k.Namespaced
	}
	if namespaced {
		return fmt.Sprintf("/apis/%s/namespaces/%s/%s", gv, diffNamespace, plural)
	}
	return fmt.Sprintf("/apis/%s/%s", gv, plural)
}

// setup checks the cluster: the standard v1.6.1 CRDs, no webhook or policy
// that could see gateway.networking.k8s.io objects (our webhook must not be
// registered), and the differential namespace (created if missing).
func (a *apiServer) setup(bundleVersion string) (string, error) {
	var version struct {
		GitVersion string `json:"gitVersion"`
	}
	if _, err := a.getJSON("/version", &version); err != nil {
		return "", fmt.Errorf("cannot reach the API server at %s: %v", a.base, err)
	}
	var names []string
	for k := range a.kinds {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, kind := range names {
		k := a.kinds[kind]
		var crd struct {
			Metadata struct {
				Annotations map[string]string `json:"annotations"`
			} `json:"metadata"`
			Status struct {
				Conditions []struct {
					Type   string `json:"type"`
					Status string `json:"status"`
				} `json:"conditions"`
			} `json:"status"`
		}
		name := k.Plural + "." + group
		if _, err := a.getJSON("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"+name, &crd); err != nil {
			return "", fmt.Errorf("CRD %s: %v (are the Gateway API %s standard CRDs installed?)", name, err, bundleVersion)
		}
		bv := crd.Metadata.Annotations["gateway.networking.k8s.io/bundle-version"]
		chn := crd.Metadata.Annotations["gateway.networking.k8s.io/channel"]
		if bv != bundleVersion || chn != "standard" {
			return "", fmt.Errorf("CRD %s is bundle-version %q channel %q; want %s standard", name, bv, chn, bundleVersion)
		}
		established := false
		for _, c := range crd.Status.Conditions {
			if c.Type == "Established" && c.Status == "True" {
				established = true
			}
		}
		if !established {
			return "", fmt.Errorf("CRD %s is not Established", name)
		}
	}
	if bad, err := a.interceptors(); err != nil {
		return "", err
	} else if len(bad) > 0 {
		return "", fmt.Errorf("refusing to run: the API server must judge alone, with gatecheck's webhook unregistered, "+
			"but these admission configurations could see gateway.networking.k8s.io objects:\n  %s\n"+
			"Unregister them and run again (the cluster of make cluster-up: tools/cluster.sh unregister,\n"+
			"and tools/cluster.sh register afterwards; elsewhere: kubectl delete validatingwebhookconfiguration NAME).",
			strings.Join(bad, "\n  "))
	}
	var ns struct {
		Status struct {
			Phase string `json:"phase"`
		} `json:"status"`
	}
	code, err := a.getJSON("/api/v1/namespaces/"+diffNamespace, &ns)
	switch {
	case code == http.StatusNotFound:
		body := fmt.Sprintf(`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":%q}}`, diffNamespace)
		c, data, _, err := a.do("POST", "/api/v1/namespaces", nil, []byte(body))
		if err != nil || (c != 201 && c != 409) {
			return "", fmt.Errorf("creating namespace %s: HTTP %d %v %s", diffNamespace, c, err, data)
		}
	case err != nil:
		return "", err
	case ns.Status.Phase == "Terminating":
		return "", fmt.Errorf("namespace %s is terminating; wait and run again", diffNamespace)
	}
	return version.GitVersion, nil
}

type webhookConfig struct {
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Webhooks []struct {
		Name         string `json:"name"`
		ClientConfig struct {
			URL     *string `json:"url"`
			Service *struct {
				Namespace string `json:"namespace"`
				Name      string `json:"name"`
			} `json:"service"`
		} `json:"clientConfig"`
		Rules []struct {
			APIGroups []string `json:"apiGroups"`
		} `json:"rules"`
	} `json:"webhooks"`
}

func localHost(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	h := u.Hostname()
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func coversGroup(groups []string) bool {
	for _, g := range groups {
		if g == "*" || g == group {
			return true
		}
	}
	return false
}

// interceptors lists the webhook configurations and admission policies that
// would see our objects: a webhook served from the loopback address or
// named gatecheck, or any webhook or policy matching the Gateway API group.
func (a *apiServer) interceptors() ([]string, error) {
	var bad []string
	for _, kind := range []string{"validatingwebhookconfigurations", "mutatingwebhookconfigurations"} {
		var list struct {
			Items []webhookConfig `json:"items"`
		}
		if _, err := a.getJSON("/apis/admissionregistration.k8s.io/v1/"+kind, &list); err != nil {
			return nil, fmt.Errorf("listing %s: %v", kind, err)
		}
		for _, c := range list.Items {
			var why []string
			if strings.Contains(c.Metadata.Name, "gatecheck") {
				why = append(why, "named gatecheck")
			}
			for _, w := range c.Webhooks {
				switch {
				case w.ClientConfig.URL != nil && localHost(*w.ClientConfig.URL):
					why = append(why, fmt.Sprintf("webhook %s calls %s", w.Name, *w.ClientConfig.URL))
				case w.ClientConfig.Service != nil && strings.Contains(w.ClientConfig.Service.Name, "gatecheck"):
					why = append(why, fmt.Sprintf("webhook %s calls service %s/%s", w.Name,
						w.ClientConfig.Service.Namespace, w.ClientConfig.Service.Name))
				}
				for _, r := range w.Rules {
					if coversGroup(r.APIGroups) {
						why = append(why, fmt.Sprintf("webhook %s matches group %v", w.Name, r.APIGroups))
						break
					}
				}
			}
			if len(why) > 0 {
				bad = append(bad, fmt.Sprintf("%s/%s (%s)", strings.TrimSuffix(kind, "s"), c.Metadata.Name, strings.Join(why, "; ")))
			}
		}
	}
	var vaps struct {
		Items []struct {
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
			Spec struct {
				MatchConstraints *struct {
					ResourceRules []struct {
						APIGroups []string `json:"apiGroups"`
					} `json:"resourceRules"`
				} `json:"matchConstraints"`
			} `json:"spec"`
		} `json:"items"`
	}
	if _, err := a.getJSON("/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies", &vaps); err != nil {
		return nil, fmt.Errorf("listing validatingadmissionpolicies: %v", err)
	}
	for _, p := range vaps.Items {
		if p.Spec.MatchConstraints == nil {
			continue
		}
		for _, r := range p.Spec.MatchConstraints.ResourceRules {
			if coversGroup(r.APIGroups) {
				bad = append(bad, fmt.Sprintf("validatingadmissionpolicy/%s (matches group %v)", p.Metadata.Name, r.APIGroups))
				break
			}
		}
	}
	return bad, nil
}

// kubectlBody is what `kubectl apply -f FILE` sends for a file holding data.
// kubectl reads JSON and YAML files alike through sigs.k8s.io/yaml, so a
// number written 443.0 arrives as 443, and a file with a duplicate key is
// refused before anything is sent. `gwhook validate` models the same
// reading, so the server is asked about the same bytes kubectl would send.
func kubectlBody(data []byte) ([]byte, error) {
	return yaml.YAMLToJSON(data)
}

// judge POSTs every object as a dry-run create, jobs at a time.
func (a *apiServer) judge(objs []*dobj, jobs int, progress io.Writer) []judgement {
	res := make([]judgement, len(objs))
	q := url.Values{"dryRun": {"All"}, "fieldValidation": {"Strict"}}
	var done atomic.Int64
	parallel(len(objs), jobs, func(i int) {
		o := objs[i]
		body, cerr := kubectlBody(o.Data)
		if cerr != nil { // kubectl refuses the file: nothing reaches the server
			res[i] = judgement{Paths: []string{pathUnreadable},
				Messages: []string{"kubectl: " + cerr.Error()}, Status: "refused by kubectl before sending"}
			done.Add(1)
			return
		}
		var lastErr error
		for attempt := 0; attempt < 4; attempt++ {
			if attempt > 0 {
				time.Sleep(time.Duration(attempt*attempt) * 250 * time.Millisecond)
			}
			code, rbody, hdr, err := a.do("POST", a.restPath(o), q, body)
			if err != nil {
				lastErr = err
				continue
			}
			if code == http.StatusTooManyRequests || code >= 500 {
				lastErr = fmt.Errorf("HTTP %d: %s", code, strings.TrimSpace(string(rbody)))
				continue
			}
			res[i] = fromStatus(code, rbody)
			res[i].Warnings = hdr.Values("Warning")
			lastErr = nil
			break
		}
		if lastErr != nil {
			res[i] = judgement{Err: lastErr.Error()}
		}
		if n := done.Add(1); progress != nil && n%1000 == 0 {
			fmt.Fprintf(progress, "differential: API server: %d/%d\n", n, len(objs))
		}
	})
	return res
}

func parallel(n, jobs int, f func(int)) {
	if jobs < 1 {
		jobs = 1
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < jobs; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}

// ---------------------------------------------------------------- (b') in process

// judgeInProcess asks the in-process oracle (main.go) instead of a cluster,
// and answers as the API server's HTTP layer would.
func judgeInProcess(o oracle, objs []*dobj, jobs int) []judgement {
	res := make([]judgement, len(objs))
	parallel(len(objs), jobs, func(i int) {
		v := o.validateOnce(&request{Channel: "standard", Operation: "CREATE", Object: objs[i].Data})
		switch {
		case v.Status == "notfound":
			res[i] = judgement{Code: 404, Paths: []string{"apiVersion"}, Messages: []string{v.Message}, Status: v.Message}
		case v.Status != "ok":
			res[i] = judgement{Code: 400, Paths: []string{pathBadRequest}, Messages: []string{v.Message}, Status: v.Message}
		case len(v.Unknown) > 0:
			st := "strict decoding error: " + strings.Join(v.Unknown, ", ")
			body, _ := json.Marshal(map[string]interface{}{"kind": "Status", "code": 400, "message": st})
			res[i] = fromStatus(400, body)
		case len(v.Errors) > 0:
			var paths []string
			for _, e := range v.Errors {
				p, _, _ := strings.Cut(e, ": ")
				paths = append(paths, p)
			}
			res[i] = judgement{Code: 422, Paths: distinctSorted(paths), Messages: v.Errors, Status: strings.Join(v.Errors, ", ")}
		default:
			res[i] = judgement{Allowed: true, Code: 201, Paths: []string{}, Messages: []string{}}
		}
	})
	return res
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
