/*
 * test_conn.c - gateway/conn.c, included for its private connection
 * struct: an answer head with a length no answer can have (a GET or HEAD
 * takes its length from storage's record) fails with an error and leaves
 * the connection as it was. It was an assert(): a no-op in release builds,
 * which sent "Content-Length: -1", and a dead node in debug builds.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "../../gateway/conn.c"

Test(gw_conn, negative_content_length_fails_the_head_and_changes_nothing)
{
    gw_conn_t c;
    memset(&c, 0, sizeof c);
    gw_http_head_t head = {.keep_alive = true, .content_length = -1};
    gw_req_t r = {.conn = &c, .seq = 1, .head = &head, .body_done = true};
    cr_assert_eq(gw__resp_head(&r, 200, NULL, 0, -1), CLEO_EPROTO);
    cr_assert_not(r.responded, "no head was sent");
    cr_assert_null(c.pend_head, "no head is waiting");
    cr_assert_not(c.closing_after, "the connection may carry on");

    cr_assert_eq(gw__resp_head(&r, 200, NULL, 0, 5), 0);
    cr_assert(r.responded);
    cr_assert_not_null(strstr(c.pend_head, "\r\nContent-Length: 5\r\n"));
    free(c.pend_head);
}
