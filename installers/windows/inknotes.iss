; Inno Setup 6 script: a per-user (or all-users) installer for dist\inknotes\.
; build.ps1 runs it as: iscc /DAppVersion=0.1.0 /DBundle=inknotes installers\windows\inknotes.iss
#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#ifndef Bundle
  #define Bundle "inknotes"
#endif

[Setup]
AppId={{6B1E7C52-3F0A-4C1D-9E43-5A2D8B7F1C10}
AppName=inknotes
AppVersion={#AppVersion}
AppPublisher=inknotes
DefaultDirName={autopf}\inknotes
DefaultGroupName=inknotes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\..\dist
OutputBaseFilename={#Bundle}-{#AppVersion}-windows-x64-setup
SetupIconFile=..\..\resources\icons\inknotes.ico
UninstallDisplayIcon={app}\inknotes-gui.exe
Compression=lzma2
SolidCompression=yes
ChangesEnvironment=yes

[Tasks]
Name: "desktopicon"; Description: "Create a desktop shortcut"; Flags: unchecked
Name: "addtopath"; Description: "Add the inknotes command to PATH"; Flags: unchecked

[Files]
Source: "..\..\dist\{#Bundle}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\inknotes"; Filename: "{app}\inknotes-gui.exe"
Name: "{autodesktop}\inknotes"; Filename: "{app}\inknotes-gui.exe"; Tasks: desktopicon

[Registry]
Root: HKCU; Subkey: "Environment"; ValueType: expandsz; ValueName: "Path"; ValueData: "{olddata};{app}"; \
    Tasks: addtopath; Check: NeedsAddPath(ExpandConstant('{app}'))

[Run]
Filename: "{app}\inknotes-gui.exe"; Description: "Start inknotes"; Flags: nowait postinstall skipifsilent

[Code]
function NeedsAddPath(Dir: string): Boolean;
var
  Path: string;
begin
  if not RegQueryStringValue(HKCU, 'Environment', 'Path', Path) then
    Path := '';
  Result := Pos(';' + Uppercase(Dir) + ';', ';' + Uppercase(Path) + ';') = 0;
end;
