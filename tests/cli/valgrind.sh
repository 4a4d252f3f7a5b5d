#!/bin/sh
# valgrind memcheck over the whole corpus (see tools/valgrind-corpus.sh).
exec tools/valgrind-corpus.sh
