// The text of the bundled example, written for smelt: a short guide to household fire alarms in
// English and Chinese. make_example.mjs renders it to guide.pdf and guide.docx.
export const title = 'Household Fire Alarms — 家用火灾报警器指南';

export const sections = [
  {
    heading: '1. Why smoke alarms matter',
    paragraphs: [
      'Most fatal home fires happen at night while people are asleep. Smoke, not flames, is what kills: a sleeping person does not wake up from the smell of smoke. A working smoke alarm gives the household the one or two minutes it needs to get out.',
      'Homes with working smoke alarms have far fewer fire deaths than homes without them. The most common reason an alarm fails is a missing or dead battery.',
    ],
  },
  {
    heading: '2. 烟雾报警器为什么重要',
    paragraphs: [
      '大多数致命的住宅火灾发生在夜间人们熟睡的时候。致命的往往是烟雾而不是火焰，熟睡的人不会因为闻到烟味而醒来。一个正常工作的烟雾报警器能为家人争取逃生所需的一两分钟。',
      '报警器失效最常见的原因是电池缺失或电量耗尽，因此每月测试一次非常重要。',
    ],
  },
  {
    heading: '3. Types of alarms',
    paragraphs: [
      'Different alarms detect different dangers. Choose the type by what can go wrong in each room.',
    ],
    table: [
      ['Type 类型', 'Detects 探测对象', 'Best place 最佳位置'],
      ['Photoelectric smoke alarm 光电式烟雾报警器', 'Smouldering fires, thick smoke 阴燃火灾', 'Hallways, bedrooms 走廊、卧室'],
      ['Ionization smoke alarm 离子式烟雾报警器', 'Fast flaming fires 明火', 'Living rooms 客厅'],
      ['Heat alarm 感温报警器', 'Rapid rise in temperature 温度骤升', 'Kitchens, garages 厨房、车库'],
      ['Carbon monoxide alarm 一氧化碳报警器', 'CO gas from stoves and heaters 燃气一氧化碳', 'Near gas appliances 燃气设备附近'],
    ],
  },
  {
    heading: '4. Where to install',
    paragraphs: [
      'Install a smoke alarm on every level of the home, inside every bedroom and outside each sleeping area. Mount alarms on the ceiling at least 30 cm from walls and light fittings, or high on a wall 10 to 30 cm below the ceiling.',
      'Do not put a smoke alarm in the kitchen or bathroom: cooking fumes and steam cause false alarms, and people then remove the battery. Use a heat alarm in the kitchen instead.',
    ],
  },
  {
    heading: '5. 安装位置',
    paragraphs: [
      '每一层都应安装烟雾报警器，每间卧室内以及卧室外的走廊也要安装。报警器应安装在天花板上，距离墙壁和灯具至少30厘米。',
      '厨房和浴室不宜安装烟雾报警器，油烟和水蒸气容易引起误报。厨房应改用感温报警器。',
    ],
  },
  {
    heading: '6. Testing and maintenance',
    paragraphs: [
      'Press the test button once a month until the alarm sounds. Replace ordinary batteries once a year; alarms with sealed ten-year lithium batteries need no battery changes.',
      'Replace the whole smoke alarm ten years after the date printed on its back, even if it still beeps when tested: the sensor becomes less sensitive with age. A short chirp every minute means the battery is low.',
      '每月按一次测试按钮，直到报警器发出响声。普通电池每年更换一次。报警器本身使用十年后必须整体更换。每分钟一声短促的“嘀”声表示电池电量不足。',
    ],
  },
  {
    heading: '7. When the alarm sounds',
    paragraphs: [
      'Get out, stay out and call the fire service. Feel closed doors with the back of your hand before opening them; if a door is hot, use another way out. Stay low under the smoke.',
      '报警器响起时，应立即撤离，不要返回取物品，并拨打119报警。开门前先用手背试探门的温度，如果门很烫，应选择其他出口。在烟雾中应弯腰低姿前进。',
    ],
  },
];
