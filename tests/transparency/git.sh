#!/bin/sh
# git.sh - a git workload whose output is the same on every run: 60 commits
# with fixed names and dates in a fresh repository, then log, diff, blame,
# branches and a merge, repack and gc, fsck, archive. Every git command is
# a new process (under the shim: its own watcher and report). Run it in an
# empty directory.
set -eu
export GIT_AUTHOR_NAME=tester GIT_AUTHOR_EMAIL=tester@example.org
export GIT_COMMITTER_NAME=tester GIT_COMMITTER_EMAIL=tester@example.org
export GIT_AUTHOR_DATE='2020-01-01T00:00:00Z' GIT_COMMITTER_DATE='2020-01-01T00:00:00Z'
export HOME="$PWD" GIT_CONFIG_NOSYSTEM=1 GIT_PAGER=cat PAGER=cat LC_ALL=C TZ=UTC
git init -q -b main repo
cd repo
i=1
while [ $i -le 60 ]; do
	seq $i 3 4000 > "f$((i % 7)).txt"
	printf 'line %s\n' $i >> log.txt
	git add -A
	git commit -q -m "commit $i"
	i=$((i + 1))
done
git log --oneline | wc -l
git rev-parse HEAD
git diff --stat HEAD~20 HEAD | tail -n 1
git blame -s log.txt | tail -n 2
git checkout -q -b side HEAD~30
printf 'side\n' > side.txt
git add side.txt
git commit -q -m side
git checkout -q main
git merge -q --no-edit side
git log --graph --oneline | head -n 5
git repack -q -a -d
git gc -q
git fsck --full --no-progress
git count-objects -v | grep -E '^(count|in-pack|packs)'
git archive --format=tar HEAD | sha256sum
git grep -c 'line 1' | sort
