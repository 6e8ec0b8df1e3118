# Build the Windows bundle: dist\inknotes\ plus dist\inknotes-<ver>-windows-x64-setup.exe (Inno Setup)
# or dist\inknotes-<ver>-windows-x64.zip when Inno Setup is not installed.
#   powershell -ExecutionPolicy Bypass -File installers\windows\build.ps1 [-WithModel] [-Clean]
param([switch]$WithModel, [switch]$Clean)
$ErrorActionPreference = "Stop"
$Root = (Resolve-Path "$PSScriptRoot\..\..").Path
Set-Location $Root

$Python = $env:PYTHON
if (-not $Python) { $Python = if (Test-Path ".venv\Scripts\python.exe") { ".venv\Scripts\python.exe" } else { "python" } }
& $Python -c "import inknotes, PyInstaller" 2>$null
if ($LASTEXITCODE -ne 0) { throw "$Python needs inknotes and PyInstaller: $Python -m pip install -e .[installer]" }

if (-not $env:TESSERACT -and -not (Get-Command tesseract -ErrorAction SilentlyContinue)) {
    $Default = "C:\Program Files\Tesseract-OCR\tesseract.exe"
    if (Test-Path $Default) { $env:TESSERACT = $Default }
    else { Write-Warning "Tesseract not found: the bundle will have no OCR (install it from UB Mannheim, see README)" }
}
$env:INKNOTES_WITH_MODEL = if ($WithModel) { "1" } else { "0" }
$Name = if ($WithModel) { "inknotes-model" } else { "inknotes" }
$Version = & $Python -c "import inknotes; print(inknotes.__version__)"

$PyArgs = @("-m", "PyInstaller", "--noconfirm", "--log-level", "WARN", "--distpath", "dist",
          "--workpath", "build\pyinstaller-$Name", "installers\windows\inknotes.spec")
if ($Clean) { $PyArgs += "--clean" }
$Start = Get-Date
& $Python @PyArgs
if ($LASTEXITCODE -ne 0) { throw "PyInstaller failed" }
Copy-Item LICENSE "dist\$Name\LICENSE.txt"

$Iscc = Get-Command iscc -ErrorAction SilentlyContinue
if (-not $Iscc -and (Test-Path "${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe")) { $Iscc = "${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe" }
if ($Iscc) {
    & $Iscc "/DAppVersion=$Version" "/DBundle=$Name" "installers\windows\inknotes.iss"
    if ($LASTEXITCODE -ne 0) { throw "Inno Setup failed" }
} else {
    Compress-Archive -Force -Path "dist\$Name" -DestinationPath "dist\$Name-$Version-windows-x64.zip"
    Write-Host "build.ps1: Inno Setup not found; packed dist\$Name-$Version-windows-x64.zip instead"
}
$Seconds = [int]((Get-Date) - $Start).TotalSeconds
$SizeMB = [int]((Get-ChildItem -Recurse "dist\$Name" | Measure-Object -Sum Length).Sum / 1MB)
Write-Host "build.ps1: built dist\$Name in $Seconds s, $SizeMB MB"

# Smoke test: the bundled CLI converts a real page with the bundled Tesseract.
$Out = Join-Path $env:TEMP "inknotes-smoke"
& "dist\$Name\inknotes.exe" convert tests\fixtures\convert\line_scan.png -o $Out -f inkml,pdf -q
if ($LASTEXITCODE -ne 0 -or -not (Test-Path "$Out\line_scan.inkml") -or -not (Test-Path "$Out\line_scan.pdf")) {
    throw "smoke test failed: the bundle could not convert tests\fixtures\convert\line_scan.png"
}
Write-Host "build.ps1: smoke test passed ($Out)"
