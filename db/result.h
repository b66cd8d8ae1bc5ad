/* Outcome of every db/ operation: typed, mapped to HTTP in one place
 * (respond_db_outcome, api/http.h). */
#ifndef PVD_DB_RESULT_H
#define PVD_DB_RESULT_H

enum db_result {
    DB_OK = 0,
    DB_NOT_FOUND,   /* no row where one was expected */
    DB_CONFLICT,    /* unique or foreign-key violation (23505, 23503), or a state the
                     * write refuses (the repository says which) */
    DB_STALE,       /* the row's revision is not the one the caller read (optimistic
                     * concurrency): nothing written */
    DB_RETRY,       /* serialization failure or deadlock (40001, 40P01): consumed by the runner */
    DB_UNAVAILABLE, /* pool exhausted, connection lost, server down, statement timeout */
    DB_FAILED,      /* anything else: our bug or a schema mismatch */
};

/* Details for logging only; never sent to clients. */
struct db_error {
    char sqlstate[6];
    char message[256];
};

#endif
