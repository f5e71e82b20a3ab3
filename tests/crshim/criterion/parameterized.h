/* crshim: ParameterizedTest and cr_make_param_array live in criterion.h. */
#include <criterion/criterion.h>
