dnl SPDX-License-Identifier: MIT
dnl MB_LD_VERSION_SCRIPT: define the automake conditional HAVE_LD_VERSION_SCRIPT
dnl when the linker takes -Wl,--version-script (GNU ld, gold, lld; not mingw).
AC_DEFUN([MB_LD_VERSION_SCRIPT], [
	AC_CACHE_CHECK([whether the linker accepts --version-script], [mb_cv_ld_version_script], [
		mb_save_LDFLAGS=$LDFLAGS
		echo 'MB_TEST { global: main; local: *; };' > conftest.map
		LDFLAGS="$LDFLAGS -Wl,--version-script=conftest.map"
		AC_LINK_IFELSE([AC_LANG_PROGRAM([[]], [[]])],
			[mb_cv_ld_version_script=yes], [mb_cv_ld_version_script=no])
		rm -f conftest.map
		LDFLAGS=$mb_save_LDFLAGS])
	AM_CONDITIONAL([HAVE_LD_VERSION_SCRIPT], [test "x$mb_cv_ld_version_script" = xyes])
])
