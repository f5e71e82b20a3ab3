/* crshim: cr_log_* live in criterion.h. */
#include <criterion/criterion.h>
