// Package kplan applies the kernel prefilter's judgement in userspace
// ([UserJudge]), for events that did not come through the kernel (a
// replay): the same plan (compiler/plan) the bpf loader puts in the
// kernel's maps as it is, so live runs and replays evaluate the same
// candidate rules.
package kplan
