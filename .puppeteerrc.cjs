// The browser comes from Debian's `chromium` package; never download one.
module.exports = { skipDownload: true };
