package bpf

//go:generate go tool bpf2go -tags linux -target bpfel -type falcoc_hdr -type falcoc_item -type falcoc_open -type falcoc_exec -type falcoc_fork -type falcoc_exectp -type falcoc_exit -type falcoc_gate -type falcoc_mask -type falcoc_counters -type falcoc_path_key -type falcoc_sock_key -type falcoc_comm_key -type falcoc_uid_key -type falcoc_ptrace_key capture capture.c -- -O2 -g -Wall -I./headers
