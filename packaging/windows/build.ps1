# Builds "dist\windows\Speckle Uploader" on Windows, checks it, and zips it:
#   powershell -ExecutionPolicy Bypass -File packaging\windows\build.ps1
# The same steps as packaging/windows/build.sh, which runs them under Wine on every CI run: python.org's
# CPython 3.11 (PYTHON, default `py -3.11`), `pip install -r packaging\build-requirements.txt .`, PyInstaller on
# the top-level pyinstaller.spec, the frozen --selftest, wine_checks.py, and
# dist\speckle-uploader-VERSION-windows-x64.zip.
$ErrorActionPreference = "Stop"
Set-Location (Join-Path $PSScriptRoot "..\..")
if (-not (Test-Path .venv)) {
  if ($env:PYTHON) { & $env:PYTHON -m venv .venv } else { py -3.11 -m venv .venv }
  if ($LASTEXITCODE -ne 0) { throw "could not create .venv with Python 3.11" }
}
$python = ".\.venv\Scripts\python.exe"
& $python -m pip install --disable-pip-version-check -r packaging\build-requirements.txt .
if ($LASTEXITCODE -ne 0) { throw "pip install failed" }
if (Test-Path "dist\windows\Speckle Uploader") { Remove-Item -Recurse -Force "dist\windows\Speckle Uploader" }
& $python -m PyInstaller --noconfirm --log-level WARN --distpath dist\windows --workpath build\pyinstaller-windows pyinstaller.spec
if ($LASTEXITCODE -ne 0) { throw "PyInstaller failed" }

# The window app has no console: its output reaches us through the pipe, which also makes PowerShell wait for it.
& "dist\windows\Speckle Uploader\speckle-uploader.exe" --selftest | Tee-Object -FilePath dist\windows\selftest.log
if ($LASTEXITCODE -ne 0 -or -not (Select-String -Quiet "self-test passed" dist\windows\selftest.log)) {
  throw "self-test failed"
}
& $python packaging\windows\wine_checks.py
if ($LASTEXITCODE -ne 0) { throw "Windows checks failed" }

$version = (& $python -c "import speckle_uploader; print(speckle_uploader.__version__)").Trim()
$zip = "dist\speckle-uploader-$version-windows-x64.zip"
Compress-Archive -Force -Path "dist\windows\Speckle Uploader" -DestinationPath $zip
Write-Output "built $zip"
# File association for .ifc ("Open with", never the default): speckle_uploader/file_association.py writes, per user,
#   HKCU\Software\Classes\.ifc\OpenWithProgids\SpeckleUploader.ifc
#   HKCU\Software\Classes\SpeckleUploader.ifc\shell\open\command = "...\speckle-uploader.exe" "%1"
# (an installer, e.g. Inno Setup, may write the same keys).
