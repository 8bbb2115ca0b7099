"""The officer flow in a real browser: JupyterLab on 127.0.0.1 (token auth), headless Debian Chromium driven
by Selenium, the officer notebook run, a photo uploaded through the FileUpload widget, results asserted.

Used by tests/test_browser.py and scripts/screenshot.py (the README picture), so both run the same code.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROME_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-dev-shm-usage", "--window-size=1400,2000")
# The FileUpload widget keeps its <input type=file> out of the DOM (it opens it with .click()); WebDriver can
# only give files to an input in the document, so file inputs are attached to <body> as they are created.
# The widget's own change handler, FileReader and comm message then do the upload, as for a person.
ATTACH_FILE_INPUTS = """
if (!window.__kcsAttach) {
  window.__kcsAttach = true;
  const create = document.createElement.bind(document);
  document.createElement = function (tag, options) {
    const el = create(tag, options);
    if (String(tag).toLowerCase() === 'input') {
      queueMicrotask(() => {
        if (el.type === 'file' && !el.isConnected) {
          el.classList.add('kcs-file-input');
          el.style.cssText = 'display:block;position:fixed;left:0;bottom:0;width:1px;height:1px;opacity:0';
          document.body.appendChild(el);
        }
      });
    }
    return el;
  };
}
"""


def missing_browser() -> str | None:
    """Why the browser flow cannot run here (the Debian packages to install), or None."""
    missing = [pkg for path, pkg in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver"))
               if not Path(path).exists()]
    return f"needs the Debian package(s) {', '.join(missing)} (apt-packages.txt)" if missing else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare_notebook(folder: Path, registry_limit: int | None) -> Path:
    """A copy of the officer notebook in ``folder`` (JupyterLab may save it), with registry_limit set."""
    import nbformat

    nb = nbformat.read(REPO / "notebooks" / "01_officer.ipynb", as_version=4)
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    params.source += f"\nregistry_limit = {registry_limit!r}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "01_officer.ipynb"
    nbformat.write(nb, path)
    return path


@contextmanager
def jupyterlab(root: Path, workspace: Path, state: Path) -> Iterator[str]:
    """JupyterLab serving ``root`` on 127.0.0.1 with a token; yields the base URL with the token query.
    Stopped by PID (terminate, then kill) when the block ends."""
    port, token = free_port(), secrets.token_hex(16)
    env = {**os.environ, "KCS_WORKSPACE": str(workspace), "JUPYTER_RUNTIME_DIR": str(state / "runtime"),
           "JUPYTERLAB_WORKSPACES_DIR": str(state / "lab-workspaces"), "HF_HUB_OFFLINE": "1"}
    log = (state / "jupyterlab.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None",
         "--LabApp.extension_manager=readonly", "--LabApp.check_for_updates_class="
         "jupyterlab.NeverCheckForUpdate", *(["--allow-root"] if os.geteuid() == 0 else [])],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {proc.returncode}; see {state / 'jupyterlab.log'}")
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as r:
                    if r.status == 200 and "started" in json.loads(r.read()):
                        break
            except OSError:
                pass
            if time.time() > deadline:
                raise RuntimeError(f"JupyterLab did not answer /api/status in 90 s; see {state / 'jupyterlab.log'}")
            time.sleep(0.5)
        yield f"{base}|{token}"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


@contextmanager
def chromium() -> Iterator:
    """Headless Debian Chromium through the Debian chromedriver (Selenium Manager never runs)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def officer_flow(driver, server: str, photo: Path, *, expect_title: str, screenshot: Path | None = None,
                 timeout: float = 240) -> dict:
    """Open the officer notebook, run it, upload ``photo`` through the FileUpload widget, wait for the ranked
    result cards and check that rank 1 shows ``expect_title``. Returns what was seen."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    base, token = server.split("|")
    driver.get(f"{base}/lab/tree/01_officer.ipynb?token={token}")
    wait = WebDriverWait(driver, timeout)
    wait.until(lambda d: d.execute_script(
        "return !!(window.jupyterapp && document.querySelector('.jp-Notebook .jp-Cell'))"))
    wait.until(lambda d: d.execute_script(
        "const k = document.querySelector('.jp-Notebook-ExecutionIndicator, .jp-Toolbar-kernelStatus');"
        "return !document.querySelector('.jp-Dialog') && !!window.jupyterapp.shell.currentWidget"))
    driver.execute_script(ATTACH_FILE_INPUTS)
    time.sleep(2)  # the kernel connects
    driver.execute_script("return window.jupyterapp.commands.execute('notebook:run-all-cells')")
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".kcs-workbench .kcs-upload")))
    wait.until(lambda d: d.execute_script(
        "return document.querySelectorAll('.kcs-workbench').length > 0 && "
        "document.querySelectorAll('input.kcs-file-input').length > 0"))
    inputs = driver.find_elements(By.CSS_SELECTOR, "input.kcs-file-input")
    inputs[0].send_keys(str(photo))  # the first FileUpload on the page: the workbench's
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".kcs-workbench .kcs-card")
               or d.find_elements(By.CSS_SELECTOR, ".kcs-workbench .kcs-error"))
    errors = [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".kcs-workbench .kcs-error")]
    cards = driver.find_elements(By.CSS_SELECTOR, ".kcs-workbench .kcs-card")
    seen = {"cards": len(cards), "errors": errors,
            "first": cards[0].text if cards else "",
            "titles": [c.find_element(By.CSS_SELECTOR, ".kcs-title").text for c in cards]}
    if cards and screenshot is not None:
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".kcs-workbench .jupyter-widget-Tab img, "
                                                              ".kcs-workbench .widget-tab img"))
        save_screenshot(driver, screenshot)
    assert expect_title in seen["first"], seen
    return seen


def save_screenshot(driver, out: Path) -> None:
    """The workbench (with its results) as a compact PNG: palette colours, at most 1,400 px wide."""
    import io

    from PIL import Image
    from selenium.webdriver.common.by import By

    bench = driver.find_element(By.CSS_SELECTOR, ".kcs-workbench")
    driver.execute_script("arguments[0].scrollIntoView({block: 'start'});", bench)
    height = driver.execute_script("return arguments[0].getBoundingClientRect().height", bench)
    driver.set_window_size(1400, int(min(max(height + 400, 1200), 4000)))
    time.sleep(1)
    driver.execute_script("arguments[0].scrollIntoView({block: 'start'});", bench)
    time.sleep(0.5)
    im = Image.open(io.BytesIO(bench.screenshot_as_png)).convert("RGB")
    out.parent.mkdir(parents=True, exist_ok=True)
    im.quantize(colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(out, optimize=True)


def copy_file(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
