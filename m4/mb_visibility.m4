dnl SPDX-License-Identifier: MIT
dnl MB_VISIBILITY: set VISIBILITY_CFLAGS to -fvisibility=hidden when the
dnl compiler accepts it, so that only MEMBRIDGE_API functions are exported.
AC_DEFUN([MB_VISIBILITY], [
	AC_CACHE_CHECK([whether $CC accepts -fvisibility=hidden], [mb_cv_visibility], [
		mb_save_CFLAGS=$CFLAGS
		CFLAGS="$CFLAGS -fvisibility=hidden -Werror"
		AC_COMPILE_IFELSE([AC_LANG_PROGRAM(
			[[__attribute__((visibility("default"))) int f(void);]], [[]])],
			[mb_cv_visibility=yes], [mb_cv_visibility=no])
		CFLAGS=$mb_save_CFLAGS])
	VISIBILITY_CFLAGS=
	AS_IF([test "x$mb_cv_visibility" = xyes], [VISIBILITY_CFLAGS=-fvisibility=hidden])
	AC_SUBST([VISIBILITY_CFLAGS])
])
