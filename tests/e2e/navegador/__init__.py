"""Browser tests of the web pages: Debian's Chromium driven by Playwright, axe-core for WCAG."""
