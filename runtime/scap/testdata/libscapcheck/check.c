// Reads a .scap file with libscap's savefile engine (as Falco's replay
// does): prints the table entries and the events per type, or libscap's
// error.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libscap/scap.h>
#include <libscap/scap-int.h>
#include <libscap/scap_platform.h>
#include <libscap/scap_engines.h>
#include <libscap/engine/savefile/savefile_public.h>

static int nthreads, nfds;
static char lastcomm[64];
static void start(void *c) {}
static void end(void *c) {}
static int32_t entry(void *ctx, char *error, int64_t tid, scap_threadinfo *tinfo, scap_fdinfo *fdinfo,
                     scap_threadinfo **new_tinfo) {
	if(tinfo) {
		nthreads++;
		if(getenv("SHOW") && nthreads <= atoi(getenv("SHOW")))
			printf("thread tid=%ld pid=%ld ptid=%ld comm=%s exe=%s exepath=%s cwd=%s uid=%u gid=%u loginuid=%u vtid=%ld vpid=%ld tty=%u capeff=%lx pgid=%ld sid=%ld args_len=%u env_len=%u root=%s\n",
			       tinfo->tid, tinfo->pid, tinfo->ptid, tinfo->comm, tinfo->exe, tinfo->exepath, tinfo->cwd, tinfo->uid, tinfo->gid,
			       tinfo->loginuid, tinfo->vtid, tinfo->vpid, tinfo->tty, tinfo->cap_effective, tinfo->pgid, tinfo->sid, tinfo->args_len, tinfo->env_len, tinfo->root);
		if(tid == 1 || nthreads == 1)
			snprintf(lastcomm, sizeof lastcomm, "%s exepath=%s", tinfo->comm, tinfo->exepath);
	}
	if(fdinfo) {
		nfds++;
		if(getenv("SHOW") && nfds <= atoi(getenv("SHOW")) * 3)
			printf("  fd tid=%ld fd=%ld type=%d ino=%lu name=%s\n", tid, fdinfo->fd, fdinfo->type, fdinfo->ino,
			       fdinfo->type == SCAP_FD_FILE_V2 ? fdinfo->info.regularinfo.fname : (fdinfo->type == SCAP_FD_IPV4_SOCK || fdinfo->type == SCAP_FD_IPV6_SOCK || fdinfo->type == SCAP_FD_IPV4_SERVSOCK || fdinfo->type == SCAP_FD_IPV6_SERVSOCK) ? "(socket)" : fdinfo->type == SCAP_FD_UNIX_SOCK ? fdinfo->info.unix_socket_info.fname : fdinfo->info.fname);
	}
	return SCAP_SUCCESS;
}

int main(int argc, char **argv) {
	char err[SCAP_LASTERR_SIZE] = {0};
	char perr[SCAP_LASTERR_SIZE] = {0};
	struct scap_savefile_engine_params p = {0};
	p.fname = argv[1];
	scap_proc_callbacks cb0 = {start, end, entry, NULL};
	p.platform = scap_savefile_alloc_platform(cb0);
	scap_open_args oargs = {0};
	oargs.engine_params = &p;
	oargs.import_users = true;
	scap_proc_callbacks cb = {start, end, entry, NULL};
	struct scap_platform *pl = p.platform; (void)cb;
	int32_t rc;
	scap_t *h = scap_open(&oargs, &scap_savefile_engine, err, &rc);
	if(!h) {
		printf("open failed: %s\n", err);
		return 1;
	}
	rc = scap_platform_init(pl, perr, h->m_engine, &oargs);
	if(rc != SCAP_SUCCESS) {
		printf("platform init failed: %s\n", perr);
		return 1;
	}
	printf("tables: %d threads (first: %s), %d fds, %u users\n", nthreads, lastcomm, nfds,
	       pl->m_userlist ? pl->m_userlist->nusers : 0);
	static unsigned long counts[1024];
	unsigned long n = 0, filtered = 0;
	for(;;) {
		scap_evt *ev;
		uint16_t cpu;
		uint32_t flags;
		rc = scap_next(h, &ev, &cpu, &flags);
		if(rc == SCAP_EOF) break;
		if(rc == SCAP_FILTERED_EVENT) { filtered++; continue; }
		if(rc != SCAP_SUCCESS) {
			printf("after %lu events: error %d: %s\n", n, rc, scap_getlasterr(h));
			return 1;
		}
		n++;
		if(ev->type < 1024) counts[ev->type]++;
	}
	printf("events %lu (filtered %lu)\n", n, filtered);
	for(int i = 0; i < 1024; i++)
		if(counts[i]) printf("  type %d: %lu\n", i, counts[i]);
	return 0;
}
