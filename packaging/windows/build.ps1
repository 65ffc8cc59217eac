# Builds "dist\Speckle Uploader" on Windows, checks it, and zips it.
#   powershell -ExecutionPolicy Bypass -File packaging\windows\build.ps1
$ErrorActionPreference = "Stop"
Set-Location (Join-Path $PSScriptRoot "..\..")
if (-not (Test-Path .venv)) { py -3.11 -m venv .venv }
.\.venv\Scripts\python -m pip install -q -e ".[dev]" pillow   # Pillow turns the PNG icon into .ico
.\.venv\Scripts\pyinstaller --noconfirm --log-level WARN --distpath dist --workpath build\pyinstaller pyinstaller.spec
& "dist\Speckle Uploader\speckle-uploader.exe" --selftest | Tee-Object dist\selftest.log
if ($LASTEXITCODE -ne 0) { throw "self-test failed" }
Compress-Archive -Force "dist\Speckle Uploader" "dist\speckle-uploader-windows-x64.zip"
# File association for .ifc: the installer (e.g. Inno Setup) registers
#   HKCU\Software\Classes\.ifc\OpenWithProgids\SpeckleUploader.ifc
#   HKCU\Software\Classes\SpeckleUploader.ifc\shell\open\command = "...\speckle-uploader.exe" "%1"
