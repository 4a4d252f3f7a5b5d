-- wrk script for `make bench` (tools/bench-serve.sh): POST the AdmissionReview
-- in $BENCH_PAYLOAD on every request, with the headers kube-apiserver sends.
-- The URL (https://127.0.0.1:PORT/validate?timeout=10s) is on wrk's command line.
local path = os.getenv("BENCH_PAYLOAD") or "tests/bench/serve/review.json"
local f = assert(io.open(path, "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, */*"
wrk.headers["User-Agent"] = "kube-apiserver-admission"
